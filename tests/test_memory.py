"""The memory estimate and budget (swap_core.memory): refuse over budget with a message that
says what to lower, turn the allocator's own error into the same one-line error, and estimate
within ~1.5x of a measured peak."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch

from swap_core import memory
from swap_core.memory import MemoryBudgetError
from swap_core.setup import Setup

NB201_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
ROOT = Path(__file__).resolve().parents[1]


def per_sample(setup: Setup, arch: str = NB201_CELL) -> tuple[int, int, int]:
    return memory.activation_bytes(setup.network(arch), setup.config.input_size)


@pytest.mark.parametrize("text, expected", [("4G", 4 * 2**30), ("512M", 512 * 2**20), ("1.5g", int(1.5 * 2**30)),
                                            ("100000", 100000), ("2GiB", 2 * 2**30), (" 64K ", 64 * 1024)])
def test_parse_size(text, expected):
    assert memory.parse_size(text) == expected


@pytest.mark.parametrize("text", ["", "lots", "-1G", "0", "4X", "1e9"])
def test_parse_size_refuses_with_the_setting_named(text):
    with pytest.raises(ValueError, match="SWAP_EXPLORER_MEMORY_BUDGET.*e.g. 4G"):
        memory.parse_size(text)


def test_budget_from_the_setting_else_half_the_machine(monkeypatch):
    monkeypatch.setenv(memory.BUDGET_ENV, "3G")
    assert memory.budget_bytes() == 3 * 2**30
    monkeypatch.delenv(memory.BUDGET_ENV)
    assert memory.budget_bytes() == memory.machine_memory() // 2
    assert memory.machine_memory() > 2**28  # read from /proc/meminfo: a real machine's size


def test_the_meta_estimate_equals_the_built_networks():
    setup = Setup(space="nb201", preset="teaching")
    assert memory.cell_activation_bytes("nb201", "teaching", "cifar10", NB201_CELL) == per_sample(setup)


def test_activation_bytes_leaves_the_network_as_it_was():
    setup = Setup(space="nb201", preset="teaching")
    model = setup.network(NB201_CELL)
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    every, relu, weights = memory.activation_bytes(model, 32)
    assert all(m.training for m in model.modules())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert every > relu > 0 and weights == sum(p.numel() * 4 for p in model.parameters())


def test_estimate_grows_with_the_batch_and_with_gradients():
    sizes = per_sample(Setup(space="nb201", preset="teaching"))
    assert memory.estimate_bytes(sizes, ["swap"], 128) > memory.estimate_bytes(sizes, ["swap"], 64)
    assert memory.estimate_bytes(sizes, ["grad_norm"], 64) > memory.estimate_bytes(sizes, ["swap"], 64)
    assert memory.estimate_bytes(sizes, ["swap", "grad_norm"], 64) == memory.estimate_bytes(sizes, ["grad_norm"], 64)


def test_the_issues_case_is_refused_with_what_to_lower():
    """Issue 19: batch 512 on the benchmark NB201 network needs several GB for one cell."""
    setup = Setup(space="nb201", preset="benchmark", batch=512)
    sizes = per_sample(setup)
    budget = 2 * 2**30
    assert memory.estimate_bytes(sizes, ["swap", "grad_norm"], 512) > 4e9
    with pytest.raises(MemoryBudgetError) as caught:
        memory.check_fits(setup, sizes, ["swap", "grad_norm"], 512, budget)
    text = str(caught.value)
    fits = memory.largest_batch(sizes, ["swap", "grad_norm"], budget)
    assert "\n" not in text and "batch 512" in text and "2.0 GiB" in text and "'teaching' network" in text
    assert f"lower the batch to {fits} or less" in text and memory.BUDGET_ENV in text
    assert 1 <= fits < 512
    assert memory.estimate_bytes(sizes, ["swap", "grad_norm"], fits) <= budget
    assert memory.estimate_bytes(sizes, ["swap", "grad_norm"], fits + 1) > budget


def test_setup_score_refuses_before_running_and_scores_under_the_budget(monkeypatch):
    setup = Setup(space="nb201", preset="teaching", batch=256)
    monkeypatch.setenv(memory.BUDGET_ENV, "16M")
    with pytest.raises(MemoryBudgetError, match="batch 256 .* over the memory budget of 16.0 MiB"):
        setup.score(NB201_CELL, ["grad_norm"])
    monkeypatch.setenv(memory.BUDGET_ENV, "4G")
    assert setup.replace(batch=8).score(NB201_CELL, ["swap"])["swap"] > 0


def test_the_allocators_error_becomes_the_same_one_line_error(monkeypatch):
    import swap_core.setup as setup_module

    def out_of_memory(*_args, **_kwargs):
        raise RuntimeError("[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: "
                           "you tried to allocate 6600000000 bytes. Error code 12 (Cannot allocate memory)")

    monkeypatch.setattr(setup_module, "score_model", out_of_memory)
    with pytest.raises(MemoryBudgetError, match=r"^scoring at batch 16 .* ran out of memory \(RuntimeError\); "
                                                "lower the batch$"):
        Setup(space="nb201", batch=16).score(NB201_CELL, ["swap"])

    def other(*_args, **_kwargs):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    monkeypatch.setattr(setup_module, "score_model", other)
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        Setup(space="nb201", batch=16).score(NB201_CELL, ["swap"])


_PEAK = textwrap.dedent("""
    import gc, json, sys, torch
    torch.set_num_threads(1)
    from swap_core.setup import Setup
    def peak():
        return next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM"))
    proxy, n, arch = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    setup = Setup(space="nb201", preset="teaching", batch=1)
    setup.score(arch, [proxy]); setup.replace(batch=n).inputs(n); gc.collect()
    base = peak()
    setup.replace(batch=n).score(arch, [proxy])
    print(json.dumps(peak() - base))
""")


@pytest.mark.slow  # two fresh processes (about 10 s on a busy 2-core machine)
@pytest.mark.parametrize("proxy", ["grad_norm", "swap"])
def test_estimate_is_within_half_again_of_the_measured_peak(proxy):
    """Peak resident memory of a fresh process scoring batch 256, over its peak at batch 1 (the
    way the factors in memory.py were calibrated)."""
    n = 256
    result = subprocess.run([sys.executable, "-c", _PEAK, proxy, str(n), NB201_CELL], capture_output=True,
                            text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    sizes = per_sample(Setup(space="nb201", preset="teaching"))
    estimate = memory.estimate_bytes(sizes, [proxy], n) - memory.estimate_bytes(sizes, [proxy], 1)
    assert measured / 1.5 <= estimate <= measured * 1.5, (estimate, measured)


def test_the_cell_designer_shows_the_refusal_as_one_error(monkeypatch):
    from conftest import open_app

    monkeypatch.setenv(memory.BUDGET_ENV, "8M")
    at = open_app("app_pages/cell_designer.py", query={"batch": "512"})
    assert not at.exception, at.exception
    messages = [e.value for e in at.error]
    assert any("over the memory budget of 8.0 MiB" in m and "lower the batch to" in m for m in messages), messages


def test_the_activation_patterns_page_shows_the_refusal_as_one_error(monkeypatch):
    from conftest import open_app

    monkeypatch.setenv(memory.BUDGET_ENV, "4M")
    at = open_app("app_pages/activation_patterns.py", query={"batch": "512", "preset": "benchmark"})
    assert not at.exception, at.exception
    messages = [e.value for e in at.error]
    assert any("over the memory budget of 4.0 MiB" in m and "'teaching' network" in m for m in messages), messages


def test_scorings_that_do_not_fit_together_wait_their_turn_then_run():
    """The budget holds for every scoring of the server at once: a second one that does not fit
    beside the first waits until the first gives its memory back; arrivals keep their order."""
    pool = memory.MemoryPool(budget=100)
    events: list[str] = []
    first_in, release = threading.Event(), threading.Event()

    def first() -> None:
        with pool.reserve(70):
            events.append("first in")
            first_in.set()
            release.wait(5)
            events.append("first out")

    def later(name: str, need: int) -> None:
        with pool.reserve(need, wait_s=5):
            events.append(f"{name} in")

    threads = [threading.Thread(target=first)]
    threads[0].start()
    assert first_in.wait(5)
    threads.append(threading.Thread(target=later, args=("second", 60)))
    threads[1].start()
    time.sleep(0.2)
    threads.append(threading.Thread(target=later, args=("third", 10)))  # would fit, but came later
    threads[2].start()
    time.sleep(0.2)
    assert events == ["first in"] and pool.held == 70
    release.set()
    for thread in threads:
        thread.join(5)
    assert events == ["first in", "first out", "second in", "third in"] and pool.held == 0


def test_a_scoring_that_waits_too_long_is_refused_saying_the_server_is_busy():
    pool = memory.MemoryPool(budget=100)
    with pool.reserve(80):
        with pytest.raises(memory.MemoryBudgetError, match="server is busy.*try again"):
            with pool.reserve(50, wait_s=0.2):
                pass
    with pool.reserve(100):  # everything was given back, the waiting one included
        assert pool.held == 100
