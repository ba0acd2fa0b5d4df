"""The DARTS page's α figures (`ui.darts_panel`) draw softmax(α) as its change from uniform 1/K
on a diverging scale fitted to the data, so the first epochs' small moves are visible."""
import numpy as np
import pytest

from ui import darts_panel as panel


def test_alpha_is_drawn_as_change_from_uniform_on_a_fitted_scale():
    alpha = np.zeros((len(panel.EDGES), len(panel.OPS)))
    alpha[0, 0] = 0.05  # a first epoch's nudge: weight 0.2099 instead of 0.2
    heat = panel.alpha_now_figure(alpha, 10).data[0]
    weights = panel.softmax(alpha)
    assert np.asarray(heat.z) == pytest.approx(weights - 1 / len(panel.OPS))
    assert heat.zmid == 0 and heat.zmax == pytest.approx(np.abs(heat.z).max()) and heat.zmin == -heat.zmax
    assert heat.zmax < 0.05  # a 0–0.5 scale would give this change a fiftieth of the colours
    assert np.asarray(heat.customdata) == pytest.approx(weights)  # hover still says the weight itself
    flat = panel.skip_figure([np.zeros_like(alpha)]).data[0]
    assert np.asarray(flat.z) == pytest.approx(0) and flat.zmax == 0.005  # uniform: white, not a division by 0
