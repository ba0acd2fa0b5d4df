"""`swap_core.slice_window`: the window of an image-space slice chosen by measurement is the
widest one whose probe grid meets few regions. A small random ReLU network on 3×4×4 inputs
keeps it to a fraction of a second; no data needed."""
import pytest
import torch
import torch.nn as nn

from swap_core.regions import slice_regions
from swap_core.slice_window import HALF_WIDTHS, READABLE_SHARE, readable_window


def network_and_images():
    torch.manual_seed(0)  # test-local weights: the test's own process
    model = nn.Sequential(nn.Flatten(), nn.Linear(48, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU()).eval()
    return model, torch.randn(3, 3, 4, 4, generator=torch.Generator().manual_seed(1))


def count(model, images, h, resolution=13):
    return slice_regions(model, *images, resolution, (-h, h)).count


def test_the_chosen_window_is_the_widest_readable_one():
    model, images = network_and_images()
    choice = readable_window(model, *images)
    limit = READABLE_SHARE * 13 ** 2
    assert count(model, images, HALF_WIDTHS[0]) > limit  # the widest window is a checkerboard here...
    assert 1 <= count(model, images, choice.half_width) <= limit  # ...the chosen one is not
    wider = HALF_WIDTHS[HALF_WIDTHS.index(choice.half_width) - 1]
    assert count(model, images, wider) > limit  # and it is the widest such window
    assert len(choice.probes) <= 6 and all(h in HALF_WIDTHS for h, _ in choice.probes)


def test_a_flat_network_reads_at_the_widest_window_and_bad_candidates_are_refused():
    model, images = network_and_images()
    assert readable_window(model, *images, share=1.0).half_width == HALF_WIDTHS[0]  # every count is readable
    with pytest.raises(ValueError, match="widest first"):
        readable_window(model, *images, half_widths=(0.1, 1.0))
