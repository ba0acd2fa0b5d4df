"""Short training (swap_core.training): loss falls, seeded runs repeat, the generator stops
when asked, the split is disjoint, bad settings raise. Small data, a few seconds each."""
import hashlib
import time

import numpy as np
import pytest
import torch
import torch.nn as nn

from swap_core import init, training
from swap_core.runs import Run
from swap_core.spaces import get_space
from tests.conftest import require_file


def separable(n: int = 96, seed: int = 0):
    """Two classes told apart by the sign of the mean of channel 0 (plus noise)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    images = 0.5 * torch.randn(n, 3, 8, 8, generator=generator)
    images[:, 0] += (labels.float() * 2 - 1)[:, None, None]
    return images, labels


def tiny_net(seed: int = 0, classes: int = 2) -> nn.Module:
    """Built on the meta device, weights drawn from a generator of its own (torch's global one untouched)."""
    with torch.device("meta"):
        model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                              nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, classes))
    return init.default_init_(model.to_empty(device="cpu"), init.generator(seed))


def losses(states) -> list[float]:
    return [s.train_loss for s in states]


def test_loss_falls_on_separable_data_and_validation_is_a_fraction():
    train_set, val_set = training.split(*separable(), val_fraction=0.25, seed=0)
    result = training.train(tiny_net(), train_set, val_set, epochs=6, batch_size=12, lr=0.1, seed=0)
    values = losses(result.history)
    assert len(values) == 36
    assert np.mean(values[-8:]) < 0.7 * np.mean(values[:8])
    assert result.val_accuracy is not None and result.val_accuracy >= 0.9
    measured = [s for s in result.history if s.val_accuracy is not None]
    assert [s.step for s in measured] == [6, 12, 18, 24, 30, 36]  # end of each epoch
    assert all(0 <= s.val_accuracy <= 1 and s.val_loss >= 0 and 0 <= s.train_accuracy <= 1 for s in measured)


def test_same_seed_same_trajectory_whatever_the_caller_does_with_the_global_rng():
    train_set, val_set = training.split(*separable(), val_fraction=0.25, seed=0)
    first = training.train(tiny_net(), train_set, val_set, epochs=2, batch_size=12, seed=3)
    second = []
    for state in training.train_steps(tiny_net(), train_set, val_set, epochs=2, batch_size=12, seed=3):
        torch.rand(5)  # the caller drawing random numbers between steps changes nothing
        second.append(state)
    assert losses(first.history) == losses(second)
    assert [s.val_accuracy for s in first.history] == [s.val_accuracy for s in second]
    other = training.train(tiny_net(), train_set, val_set, epochs=2, batch_size=12, seed=4)
    assert losses(other.history) != losses(first.history)
    model = tiny_net()
    before = torch.get_rng_state()
    training.train(model, train_set, epochs=1, batch_size=12, seed=3)
    assert torch.equal(torch.get_rng_state(), before)  # training leaves the caller's random state alone


def test_training_in_a_worker_leaves_the_thread_count_and_the_global_generator_alone():
    """Many users share one server process: a run computes with the process's thread count,
    never sets it, and never draws from torch's global generator (augmentation included)."""
    train_set, val_set = training.split(*separable(), val_fraction=0.25, seed=0)
    threads, rng_state = torch.get_num_threads(), torch.random.get_rng_state()
    model = tiny_net()
    seen = []
    model[0].register_forward_hook(lambda *_: seen.append(torch.get_num_threads()))
    run = Run(training.train_steps(model, train_set, val_set, epochs=3, batch_size=12, seed=1), name="train-test")
    counts = []
    while not run.finished:
        counts.append(torch.get_num_threads())
        time.sleep(0.002)
    assert run.status == "done" and run.states == 3 * 6 and run.state.done
    assert set(counts) == {threads} and seen and set(seen) == {threads}
    assert torch.equal(torch.random.get_rng_state(), rng_state)


def test_seeded_model_is_drawn_from_its_seed_and_leaves_the_global_generator_alone():
    space = get_space("nb201")
    before = torch.random.get_rng_state()
    a, b, c = (training.seeded_model(space, space.example, space.config("teaching"), seed=s) for s in (4, 4, 5))
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert any(not torch.equal(x, y) for x, y in zip(a.state_dict().values(), c.state_dict().values()))


def test_generator_stops_early_with_increasing_steps():
    train_set, _ = training.split(*separable(), val_fraction=0.0)
    steps = training.train_steps(tiny_net(), train_set, epochs=50, batch_size=8, eval_every=2)
    seen = [next(steps) for _ in range(3)]
    steps.close()
    assert [s.step for s in seen] == [1, 2, 3]
    assert all(s.total_steps == 50 * 12 and not s.done and s.epoch == 1 for s in seen)
    assert all(s.val_accuracy is None for s in seen)  # no validation set given
    with pytest.raises(StopIteration):
        next(steps)
    assert seen[0].lr == pytest.approx(0.1) and seen[2].lr < seen[0].lr  # cosine schedule


def test_eval_every_adds_validation_points():
    train_set, val_set = training.split(*separable(), val_fraction=0.25)
    states = list(training.train_steps(tiny_net(), train_set, val_set, epochs=2, batch_size=12, eval_every=4))
    assert [s.step for s in states if s.val_accuracy is not None] == [4, 6, 8, 12]
    assert states[-1].done


def test_split_is_disjoint_complete_and_seeded():
    images = torch.arange(50, dtype=torch.float32).view(50, 1, 1, 1).expand(50, 3, 2, 2)
    labels = torch.arange(50)
    (train_x, train_y), (val_x, val_y) = training.split(images, labels, val_fraction=0.2, seed=1)
    assert len(val_y) == 10 and len(train_y) == 40
    assert set(train_y.tolist()).isdisjoint(val_y.tolist())
    assert sorted(train_y.tolist() + val_y.tolist()) == list(range(50))
    assert torch.equal(train_x[:, 0, 0, 0].long(), train_y)  # images stay with their labels
    assert torch.equal(training.split(images, labels, 0.2, seed=1)[1][1], val_y)
    assert not torch.equal(training.split(images, labels, 0.2, seed=2)[1][1], val_y)
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="val_fraction"):
            training.split(images, labels, bad)


def test_augment_keeps_shape_and_crops_the_padded_image():
    images = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).view(2, 3, 6, 6)
    out = training.augment(images, torch.Generator().manual_seed(0), padding=2)
    assert out.shape == images.shape
    padded = nn.functional.pad(images, (2, 2, 2, 2))
    for i in range(2):
        windows = [padded[i, :, t:t + 6, l:l + 6] for t in range(5) for l in range(5)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(2)) for w in windows)


class FeatureMap(nn.Module):
    def forward(self, x):
        return x


def test_bad_settings_raise():
    train_set, val_set = training.split(*separable(24), val_fraction=0.25)
    for settings, match in (({"epochs": 0}, "epochs"), ({"lr": 0}, "lr"), ({"lr": -0.1}, "lr"),
                            ({"batch_size": 0}, "batch_size"), ({"grad_clip": 0}, "grad_clip")):
        with pytest.raises(ValueError, match=match):
            training.train_steps(tiny_net(), train_set, val_set, **settings)
    with pytest.raises(ValueError, match="empty"):
        training.train_steps(tiny_net(), (torch.zeros(0, 3, 8, 8), torch.zeros(0, dtype=torch.long)))
    with pytest.raises(ValueError, match=r"\(N, classes\)"):
        training.train_steps(FeatureMap(), train_set)
    with pytest.raises(ValueError, match="labels go up to"):
        training.train_steps(tiny_net(classes=1), train_set)
    # A batch larger than the training set is clamped to it: one full batch per epoch.
    states = list(training.train_steps(tiny_net(), train_set, epochs=2, batch_size=1000))
    assert [s.step for s in states] == [1, 2] and states[-1].done


@pytest.mark.parametrize("space_name", ["nb201", "darts"])
def test_teaching_networks_train_on_cifar10(space_name):
    require_file("cifar10_sample.npz")
    space = get_space(space_name)
    train_set, val_set, description = training.load_cifar10(16, 8, seed=0)
    assert "8 held out" in description
    model = training.seeded_model(space, space.example, space.config("teaching"), seed=0)
    result = training.train(model, train_set, val_set, epochs=1, batch_size=8, seed=0)
    assert len(result.history) == 2 and 0 <= result.val_accuracy <= 1
    assert all(np.isfinite(losses(result.history)))


def test_loss_falls_on_a_cifar10_subset():
    require_file("cifar10_sample.npz")
    space = get_space("nb201")
    train_set, _, _ = training.load_cifar10(48, 0, seed=0)
    model = training.seeded_model(space, space.example, space.config("teaching"), seed=0)
    states = list(training.train_steps(model, train_set, epochs=12, batch_size=16, augmentation=False, seed=0))
    values = losses(states)
    assert len(values) == 36
    assert np.mean(values[-9:]) < np.mean(values[:9])


def test_load_cifar10_uses_training_images_only_and_splits_them_disjointly():
    path = require_file("cifar10_sample.npz")
    (train_x, _), (val_x, _), _ = training.load_cifar10(200, 100, seed=1)

    def fingerprints(images):  # images come back normalised; undo it to compare with the file
        mean = torch.tensor((0.4914, 0.4822, 0.4465)).view(1, 3, 1, 1)
        std = torch.tensor((0.2470, 0.2435, 0.2616)).view(1, 3, 1, 1)
        raw = (images * std + mean).mul(255).round().clamp(0, 255).to(torch.uint8).numpy()
        return {hashlib.sha1(image.tobytes()).hexdigest() for image in raw}

    train, val = fingerprints(train_x), fingerprints(val_x)
    assert len(train) == 200 and len(val) == 100 and train.isdisjoint(val)
    with np.load(path) as arrays:
        test = {hashlib.sha1(image.tobytes()).hexdigest() for image in arrays["test_x"]}
    assert train.isdisjoint(test) and val.isdisjoint(test)
    with pytest.raises(ValueError, match="holds"):
        training.load_cifar10(10_000, 0, source="cifar10-sample")
    with pytest.raises(ValueError, match="source"):
        training.load_cifar10(10, 5, source="noise")
