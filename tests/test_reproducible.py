"""swap_core.reproducible: a seeded block and a thread count, each given back afterwards."""
import pytest
import torch

from swap_core.reproducible import check_threads, seeded, torch_threads


def test_torch_threads_sets_and_restores():
    before = torch.get_num_threads()
    other = 2 if before == 1 else 1
    with torch_threads(other):
        assert torch.get_num_threads() == other
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), torch_threads(other):
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before  # restored after an error too
    with torch_threads(None):
        assert torch.get_num_threads() == before


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match="threads must be a whole number"):
        check_threads(bad)
    assert check_threads(3) == 3 and check_threads(None) is None


def test_seeded_draws_the_same_and_leaves_the_callers_random_state():
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    with seeded(7):
        a = torch.rand(4)
    with seeded(7):
        b = torch.rand(4)
    assert torch.equal(a, b)
    assert torch.equal(torch.rand(3), expected_next)  # as if the seeded blocks had not run
