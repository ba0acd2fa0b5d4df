"""Which window of an image-space slice shows linear regions *as regions*.

The Linear Regions page colours the plane x0 + a·(x1 − x0) + b·(x2 − x0) (`regions.image_plane`)
by activation pattern. A real cell has tens of thousands of ReLU units, so over most windows
every grid point lies in a region of its own and the map is a random checkerboard; only very
close to x0 do the regions span many grid points. Where that happens depends on the network,
the weights and the images, so it is measured, not guessed: `readable_window` probes square
windows x0 ± h on a coarse grid and returns the widest one whose probe meets few enough
regions (at most one per `READABLE_SHARE`⁻¹ probe points), so the page's finer grid shows
patches, each many points wide. Counts fall as the window shrinks around x0 (a smaller window
lies inside a larger one), so a binary search over the candidates needs about log2(24) ≈ 5
probes of 169 forward passes each.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch.nn as nn
from torch import Tensor

from .regions import slice_regions

HALF_WIDTHS = tuple(round(10.0 ** (-k / 4), 10) for k in range(0, 25))  # 1 … 1e-6, quarter decades
PROBE_RESOLUTION = 13  # 169 probe points per window
READABLE_SHARE = 1 / 5  # at most one region per 5 probe points: about 34 regions on a 13×13 probe


@dataclass(frozen=True)
class WindowChoice:
    """The chosen half-width h (the window is x0 ± h in a and b) and every probe made, as
    (h, regions met on the probe grid), in the order measured."""

    half_width: float
    probes: tuple[tuple[float, int], ...]


def readable_window(model: nn.Module, x0: Tensor, x1: Tensor, x2: Tensor,
                    half_widths: tuple[float, ...] = HALF_WIDTHS, resolution: int = PROBE_RESOLUTION,
                    share: float = READABLE_SHARE) -> WindowChoice:
    """The widest x0 ± h (h in `half_widths`, widest first) whose `resolution`² probe grid
    meets at most `share` · resolution² regions; the narrowest h when none does."""
    if not half_widths or list(half_widths) != sorted(half_widths, reverse=True):
        raise ValueError("half_widths must be a non-empty sequence, widest first")
    limit = share * resolution ** 2
    probes: list[tuple[float, int]] = []

    def readable(h: float) -> bool:
        count = slice_regions(model, x0, x1, x2, resolution, (-h, h)).count
        probes.append((h, count))
        return count <= limit

    low, high = 0, len(half_widths) - 1  # the answer is the first readable index (high when none)
    while low < high:
        middle = (low + high) // 2
        if readable(half_widths[middle]):
            high = middle
        else:
            low = middle + 1
    return WindowChoice(half_widths[low], tuple(probes))


__all__ = ["HALF_WIDTHS", "PROBE_RESOLUTION", "READABLE_SHARE", "WindowChoice", "readable_window"]
