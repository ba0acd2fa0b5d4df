"""SMASH (swap_core.oneshot.smash): generated weights, training, scoring, the experiment."""
import math
import time

import pytest
import torch

from conftest import require_file
from swap_core.data import Batch
from swap_core.oneshot.smash import (RankState, SmashNetwork, cell_forward, distinct_archs, smash_data,
                                     smash_experiment, smash_run, smash_scores, smash_training)
from swap_core.runs import Run
from swap_core.spaces.nb201 import NB201Arch

CONVS = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
OTHER = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"


def noise(n: int = 16, size: int = 16, seed: int = 0):
    """Gaussian-noise images with random labels: for mechanics only, never for accuracy claims."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_generated_weights_have_conv_shapes_and_depend_on_the_architecture():
    model = SmashNetwork(channels=4, hidden=16)
    a, b = model.hyper(CONVS), model.hyper(OTHER)
    # conv edges 0, 1, 2, 5 of CONVS in each of the three stages (widths 4, 8, 16)
    assert sorted(a) == sorted((s, e) for s in range(3) for e in (0, 1, 2, 5))
    for (stage, edge), weight in a.items():
        width, kernel = 4 * 2 ** stage, 1 if edge == 1 else 3
        assert weight.shape == (width, width, kernel, kernel)
    assert not torch.allclose(a[(0, 0)], b[(0, 0)])  # same slot and op, different cell
    assert model.hyper(NB201Arch(("avg_pool_3x3",) * 6)) == {}


def test_none_edges_contribute_nothing():
    x = torch.randn(4, 8, 6, 6)
    model = SmashNetwork(channels=8, hidden=16)
    only_skip = NB201Arch.from_str("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
    assert torch.equal(cell_forward(x, only_skip.ops, model.hyper(only_skip), 0), x)
    nothing = NB201Arch(("none",) * 6)
    assert torch.count_nonzero(cell_forward(x, nothing.ops, {}, 0)) == 0
    # the conv into node 1 is unused when node 1 feeds nothing but `none` edges
    dead = NB201Arch.from_str("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|skip_connect~2|")
    weights = model.hyper(dead)
    changed = {**weights, (0, 0): torch.randn_like(weights[(0, 0)])}
    assert torch.equal(cell_forward(x, dead.ops, weights, 0), cell_forward(x, dead.ops, changed, 0))


def test_training_is_deterministic_for_a_seed():
    images, labels = noise(32)
    runs = []
    for _ in range(2):
        model = SmashNetwork(channels=4, hidden=16, seed=3)
        states = list(smash_training(model, images, labels, steps=4, seed=3, batch_size=8))
        runs.append(([(s.arch, s.loss) for s in states], model.classifier.weight.detach().clone()))
    assert runs[0][0] == runs[1][0]
    assert torch.equal(runs[0][1], runs[1][1])
    assert [s.step for s in states] == [1, 2, 3, 4] and states[-1].done


def test_the_network_is_drawn_from_its_seed_and_leaves_the_global_generator_alone():
    before = torch.random.get_rng_state()
    a, b, c = SmashNetwork(4, 16, seed=5), SmashNetwork(4, 16, seed=5), SmashNetwork(4, 16, seed=6)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.stem.weight, c.stem.weight)


def test_a_run_in_a_worker_leaves_the_thread_count_and_the_global_generator_alone():
    """Many users share one server process: training and ranking compute with the process's
    thread count (fixed once at start), never set it, and never draw from torch's global
    generator. `smash_run` is training, then one state per ranked cell."""
    images, labels = noise(16)
    batch = Batch(images, labels, "noise", "16 noise images")
    threads, rng_state = torch.get_num_threads(), torch.random.get_rng_state()
    model = SmashNetwork(channels=4, hidden=16)
    seen = []
    model.stem.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
    archs = distinct_archs(3, seed=0)
    run = Run(smash_run(model, batch, batch, archs, 4, batch_size=8, swap=lambda arch: len(arch)), name="smash-test")
    counts = []
    while not run.finished:
        counts.append(torch.get_num_threads())
        time.sleep(0.002)
    assert run.status == "done" and run.states == 4 + 3
    ranked = run.state
    assert isinstance(ranked, RankState) and ranked.done and ranked.arch == archs[-1].to_str()
    assert ranked.swap == len(ranked.arch) and 0 <= ranked.smash_accuracy <= 1
    assert set(counts) == {threads} and len(seen) == 4 + 3 and set(seen) == {threads}
    assert torch.equal(torch.random.get_rng_state(), rng_state)


def test_loss_falls_on_a_small_cifar_subset():
    require_file("cifar10_sample.npz")
    train, _ = smash_data(n_train=64, n_val=2, seed=0)
    model = SmashNetwork(channels=8, hidden=32, seed=0)
    losses = [s.loss for s in smash_training(model, train.images, train.labels, steps=60, seed=0, batch_size=32,
                                             lr=3e-3)]
    first, last = sum(losses[:15]) / 15, sum(losses[-15:]) / 15
    assert last < first - 0.2, (first, last)


def test_scores_are_one_accuracy_per_arch():
    images, labels = noise(20)
    archs = distinct_archs(5, seed=1)
    scores = smash_scores(SmashNetwork(channels=4, hidden=16), archs, images, labels, batch_size=8)
    assert len(scores) == 5 and all(0.0 <= s <= 1.0 for s in scores)
    assert len({a.to_str() for a in archs}) == 5


def test_bad_settings_raise_clear_errors():
    images, labels = noise(8)
    model = SmashNetwork(channels=4, hidden=8)
    with pytest.raises(ValueError, match="batch_size"):
        smash_training(model, images, labels, steps=2, batch_size=1)
    with pytest.raises(ValueError, match="steps"):
        smash_training(model, images, labels, steps=0)
    with pytest.raises(ValueError, match="lr"):
        smash_training(model, images, labels, steps=2, batch_size=4, lr=0)
    with pytest.raises(ValueError, match="channels"):
        SmashNetwork(channels=0)
    with pytest.raises(ValueError, match="n_archs"):
        distinct_archs(0, seed=0)
    with pytest.raises(ValueError, match="NAS-Bench-201"):
        smash_scores(model, ["not an arch"], images, labels)


def test_experiment_returns_the_documented_keys():
    require_file("cifar10_sample.npz")
    require_file("nb201_accuracy.csv")
    calls = []
    result = smash_experiment(n_archs=4, seed=0, steps=3, channels=4, hidden=8, batch_size=8, n_train=32, n_val=16,
                              progress=lambda phase, done, total: calls.append((phase, done, total)))
    assert {"archs", "spearman", "seconds", "steps", "train_curve"} <= set(result)
    assert len(result["archs"]) == 4 and result["steps"] == 3
    assert result["settings"]["threads"] == torch.get_num_threads()  # the count the numbers were computed with
    row = result["archs"][0]
    assert set(row) == {"arch", "smash_accuracy", "benchmark_accuracy"}
    assert 0 <= row["smash_accuracy"] <= 1 and 0 < row["benchmark_accuracy"] <= 100
    assert [c["step"] for c in result["train_curve"]] == [1, 2, 3]
    assert math.isnan(result["spearman"]) or -1 <= result["spearman"] <= 1
    assert calls[0] == ("train", 1, 3) and calls[-1] == ("score", 4, 4)
