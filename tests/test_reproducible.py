"""swap_core.reproducible: the thread count is a property of the process, checked and fixed once
at its start (from a flag or $SWAP_EXPLORER_THREADS), never set around a step."""
import pytest
import torch

from swap_core.reproducible import THREADS_ENV, check_threads, fix_threads, threads_from_environment


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match="threads must be a whole number"):
        check_threads(bad)
    with pytest.raises(ValueError, match="threads must be a whole number"):
        fix_threads(bad)
    assert check_threads(3) == 3 and check_threads(None) is None


def test_fix_threads_sets_the_process_count_and_none_leaves_it():
    before = torch.get_num_threads()
    other = 2 if before == 1 else 1
    try:
        assert fix_threads(other) == other == torch.get_num_threads()
        assert fix_threads(None) == other  # None: as the process runs
    finally:
        torch.set_num_threads(before)  # this test's process goes on with the other tests


def test_threads_from_environment(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert threads_from_environment() is None
    monkeypatch.setenv(THREADS_ENV, " 3 ")
    assert threads_from_environment() == 3
    for bad in ("0", "two", "1.5"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ValueError, match=THREADS_ENV):
            threads_from_environment()
