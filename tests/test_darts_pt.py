"""DARTS on NAS-Bench-201 and its selection rules (magnitude, perturbation): swap_core.oneshot.darts."""
import math
import time

import numpy as np
import pytest
import torch

from conftest import require_file
from swap_core.oneshot import darts
from swap_core.runs import Run
from swap_core.spaces.nb201 import OPS, NB201Arch
from swap_core.spaces.nb201_net import EDGES

TINY = darts.DartsConfig(channels=4, epochs=2, batch_size=16, n_train=32, n_val=32, input_size=8,
                         finetune_steps=1, source="noise")


def tiny_split(seed: int = 0, n: int = 32, size: int = 8) -> darts.Split:
    """Noise images with random labels: enough to check mechanics, not a benchmark."""
    return darts.load_split(n, n, seed, source="noise", input_size=size)


def test_supernet_forward_shapes_and_mask():
    model = darts.build_supernet(darts.DartsConfig(channels=4, cells=2), seed=0)
    x = torch.randn(5, 3, 16, 16)
    assert model(x).shape == (5, 10)
    assert model.alpha.shape == (len(EDGES), len(OPS))
    mask = darts.full_mask()
    mask[2] = [op == "nor_conv_3x3" for op in OPS]  # discretised edge
    mask[0, 1] = False                               # one op removed
    weights = darts.edge_weights(model.alpha, mask)
    assert torch.allclose(weights[2], torch.tensor([0.0, 0, 0, 1, 0]))
    assert weights[0, 1] == 0 and math.isclose(float(weights[0].sum().detach()), 0.8, rel_tol=1e-6)  # no renormalising
    assert model(x, mask).shape == (5, 10)


def test_losses_fall_on_a_small_subset():
    config = darts.DartsConfig(channels=8, epochs=40, batch_size=16, n_train=16, n_val=16, input_size=8,
                               weight_lr=0.1)
    losses = [s.train_loss for s in darts.train_supernet(config, 0, tiny_split(n=16))]
    assert len(losses) == 40
    assert np.mean(losses[-8:]) < np.mean(losses[:8]) - 0.3


def test_alpha_moves_when_learned_and_stays_uniform_otherwise():
    split = tiny_split()
    learned = list(darts.train_supernet(TINY, 0, split))
    uniform = list(darts.train_supernet(darts.DartsConfig(**{**vars(TINY), "alpha": "uniform"}), 0, split))
    assert np.abs(learned[-1].alpha).max() > 1e-3
    assert all(np.array_equal(s.alpha, np.zeros((6, 5))) for s in uniform)
    assert [s.epoch for s in learned] == [1, 1, 2, 2] and learned[-1].done
    assert math.isnan(learned[0].val_acc) and 0 <= learned[1].val_acc <= 100


def test_magnitude_picks_argmax_per_edge():
    alpha = np.zeros((6, 5))
    chosen = ["skip_connect", "nor_conv_3x3", "none", "avg_pool_3x3", "nor_conv_1x1", "skip_connect"]
    for edge, op in enumerate(chosen):
        alpha[edge, OPS.index(op)] = 1.0 + edge
    assert darts.select_magnitude(alpha) == NB201Arch(tuple(chosen)).to_str()
    with pytest.raises(ValueError, match="6×5"):
        darts.select_magnitude(np.zeros((5, 5)))


def test_perturbation_keeps_the_op_whose_removal_hurts_most():
    rng = np.random.default_rng(3)
    harm = rng.uniform(0, 1, size=(6, 5))  # accuracy lost when op k leaves edge e
    harm[:, OPS.index("skip_connect")] = 0.0
    expected = [OPS[k] for k in harm.argmax(axis=1)]
    calls, tuned = [], []

    def val_accuracy(mask):
        calls.append(mask.copy())
        return 90.0 - float((harm * ~mask).sum())

    arch, decisions = darts.select_by_perturbation(val_accuracy, [4, 0, 5, 1, 3, 2], tuned.append)
    assert arch == NB201Arch(tuple(expected)).to_str()
    assert [d.edge for d in decisions] == [4, 0, 5, 1, 3, 2]
    assert len(calls) == 30 and len(tuned) == 6
    assert tuned[-1].sum() == 6  # every edge discretised at the end
    # An edge already decided stays decided while later edges are probed.
    assert all(c[4].sum() == 1 for c in calls[5:])
    with pytest.raises(ValueError, match="permutation"):
        darts.select_by_perturbation(val_accuracy, [0, 1, 2])


def test_perturbation_steps_report_progress_and_can_stop():
    harm = np.arange(30, dtype=float).reshape(6, 5)  # the last op of each edge hurts most when removed
    states = list(darts.perturbation_steps(lambda mask: 90.0 - float((harm * ~mask).sum()), [2, 0, 1, 3, 4, 5]))
    assert len(states) == 30 + 6  # one per validation pass, one per decided edge
    assert [s.trials for s in states] == sorted(s.trials for s in states) and states[-1].trials == 30
    assert all(s.total_trials == 30 for s in states)
    assert [s.done for s in states] == [False] * 35 + [True]
    assert [len(s.decisions) for s in states[:6]] == [0, 0, 0, 0, 0, 1] and states[0].edge == 2
    assert states[-1].arch == NB201Arch((OPS[-1],) * 6).to_str()
    calls = []
    steps = darts.perturbation_steps(lambda mask: calls.append(1) or 50.0, list(range(6)))
    next(steps), next(steps)
    steps.close()  # stopping after two trials runs nothing more
    assert len(calls) == 2
    with pytest.raises(ValueError, match="permutation"):
        darts.perturbation_steps(lambda mask: 0.0, [0, 0, 1, 2, 3, 4])


def test_the_supernet_is_drawn_from_its_seed_and_leaves_the_global_generator_alone():
    before = torch.random.get_rng_state()
    a, b, c = darts.build_supernet(TINY, 7), darts.build_supernet(TINY, 7), darts.build_supernet(TINY, 8)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.stem[0].weight, c.stem[0].weight)
    assert torch.count_nonzero(a.alpha) == 0 and a.alpha.requires_grad


def test_runs_in_a_worker_leave_the_thread_count_and_the_global_generator_alone():
    """Many users share one server process: a run computes with the process's thread count
    (fixed once at start), never sets it, and never draws from torch's global generator."""
    split = tiny_split()
    threads, rng_state = torch.get_num_threads(), torch.random.get_rng_state()
    seen = []

    def states():
        state = None
        for state in darts.train_supernet(TINY, 0, split):
            if state.step == 1:
                state.supernet.stem.register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
            yield state
        yield from darts.perturbation_run(state.supernet, split, TINY, 0)

    run, counts = Run(states(), name="darts-test"), []
    while not run.finished:
        counts.append(torch.get_num_threads())
        time.sleep(0.002)
    assert run.status == "done" and run.states == TINY.total_steps + 30 + 6 and run.state.arch
    assert set(counts) == {threads} and seen and set(seen) == {threads}
    assert torch.equal(torch.random.get_rng_state(), rng_state)
    with pytest.raises(ValueError, match="threads"):
        darts.DartsConfig(threads=0)


def test_perturbation_on_copy_leaves_the_supernet_as_trained():
    split = tiny_split()
    model = list(darts.train_supernet(TINY, 0, split))[-1].supernet
    before = {name: value.clone() for name, value in model.state_dict().items()}
    states = darts.perturbation_on_copy(model, split, TINY, 0)
    arch = list(states)[-1].arch
    assert all(torch.equal(before[name], value) for name, value in model.state_dict().items())
    assert arch == darts.perturbation_select(model, split, TINY, 0)[0]  # the same cell as on the model itself


def test_same_seed_same_run():
    split = tiny_split()
    a = [(s.train_loss, s.alpha) for s in darts.train_supernet(TINY, 7, split)]
    b = [(s.train_loss, s.alpha) for s in darts.train_supernet(TINY, 7, split)]
    assert [x[0] for x in a] == [x[0] for x in b]
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    model = next(darts.train_supernet(TINY, 7, split)).supernet
    arch_a, _ = darts.perturbation_select(model, split, TINY, seed=7)
    model = next(darts.train_supernet(TINY, 7, split)).supernet
    arch_b, _ = darts.perturbation_select(model, split, TINY, seed=7)
    assert arch_a == arch_b


def test_bad_settings_raise_clear_errors():
    with pytest.raises(ValueError, match="epochs=0"):
        darts.DartsConfig(epochs=0)
    with pytest.raises(ValueError, match="alpha must be one of"):
        darts.DartsConfig(alpha="fixed")
    with pytest.raises(ValueError, match="selection"):
        darts.darts_experiment(selections=("random",), config=TINY)
    with pytest.raises(ValueError, match="seeds"):
        darts.darts_experiment(seeds=(), config=TINY)


def test_tiny_experiment_on_cifar10_returns_nb201_cells():
    require_file("cifar10_sample.npz")
    require_file("nb201_accuracy.csv")
    config = darts.DartsConfig(**{**vars(TINY), "source": "cifar10-sample"})
    seen = []
    result = darts.darts_experiment(seeds=(0,), config=config, progress=lambda *a: seen.append(a))
    runs = result["runs"]
    assert [r["selection"] for r in runs] == list(darts.SELECTIONS)
    for run in runs:
        NB201Arch.from_str(run["arch"])
        assert 0 < run["accuracy"] <= 100 and run["seconds"] > 0
        assert len(run["alpha_history"]) == config.epochs + 1
    assert runs[0]["alpha_history"] == runs[1]["alpha_history"]  # one DARTS supernet for both rules
    assert len(runs[1]["decisions"]) == 6 and not runs[0]["decisions"]
    assert "CIFAR-10" in result["data"] and seen
    assert result["config"]["threads"] == torch.get_num_threads()  # the count the numbers were computed with
