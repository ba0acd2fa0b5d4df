"""The Size Regulariser page (Streamlit AppTest): it scores a small set of NAS-Bench-201 cells
with SWAP on the teaching network, and moving μ or σ re-ranks them from the cached scores.
Twenty cells and a batch of 16 keep a run to seconds on a CPU; the ground truth comes from
the shared data directory (tests that need it skip without it)."""
import json
import math
import re
import time

from conftest import until_scored, metric_values, open_app, require_file

from swap_core import size_regulariser as sr
from ui import size_figures

PAGE = "app_pages/size_regulariser.py"
PLAIN, REGULARISED = "ρ(SWAP, accuracy)", "ρ(regularised SWAP, accuracy)"


def open_page(size: int = 20, **state):
    """The page with `size` cells, redrawn once their scoring (in the engine's worker) is complete."""
    at = until_scored(open_app(PAGE, state={"sr_size": size, "sb_batch": 16, **state}), "sr_scoring")
    assert metric_values(at)["Cells scored"] == f"{size} of {size}"
    return at


def top_archs(at) -> list[str]:
    return at.dataframe[0].value["arch"].tolist()


def test_page_shows_correlations_figures_and_the_top_10():
    require_file("nb201_accuracy.csv")
    at = open_page()
    values = metric_values(at)
    assert -1 <= float(values[PLAIN]) <= 1 and -1 <= float(values[REGULARISED]) <= 1
    assert len(at.get("plotly_chart")) == 3  # ρ heat map, sizes with f(Θ), SWAP against size
    top = at.dataframe[0].value
    assert len(top) == 10 and top["rank"].tolist() == list(range(1, 11))
    assert {"params (M)", "size factor", "SWAP", "regularised SWAP", "rank by SWAP", "accuracy"} <= set(top.columns)
    assert len(at.get("download_button")) == 1
    captions = " ".join(str(c.value) for c in at.caption)
    assert "thousand** parameters = **" in captions and "μ ± √σ" in captions


def test_moving_mu_and_sigma_re_ranks_and_best_point_moves_the_sliders():
    require_file("nb201_accuracy.csv")
    at = open_page()
    mu = at.slider(key="sr_mu")
    narrow = sr.sigma_exponents(mu.min, mu.max)[4]  # σ a decade above the smallest
    at.select_slider(key="sr_log_sigma").set_value(narrow).run()
    assert at.select_slider(key="sr_log_sigma").value == narrow
    before = metric_values(at)[REGULARISED], top_archs(at)
    at.slider(key="sr_mu").set_value(mu.min).run()
    assert not at.exception, at.exception
    after = metric_values(at)[REGULARISED], top_archs(at)
    assert after != before and metric_values(at)["Cells scored"] == "20 of 20"
    sizes = at.dataframe[0].value["params (M)"]
    assert sizes.max() < 0.5  # NB201's benchmark cells span 0.07 to 1.5 M: the target pulls the top-10 down
    best = next(m for m in at.metric if m.label == "Best ρ on the grid")
    target = float(re.search(r"μ ≈ ([\d,.]+) k", best.help).group(1).replace(",", ""))
    at.button(key="sr_best").click().run()
    assert not at.exception, at.exception
    assert at.slider(key="sr_mu").value == target


def test_a_ground_truth_table_can_be_the_set():
    require_file("zc/nb201_cifar10.csv")
    at = open_page(sr_set="zc/nb201_cifar10.csv:val_accuracy")
    assert at.selectbox(key="sr_set").value == "zc/nb201_cifar10.csv:val_accuracy"
    assert 0 < float(metric_values(at)[PLAIN]) <= 1
    assert at.selectbox(key="sr_pick").options[0].startswith("#1 · ")
    assert at.selectbox(key="sr_pick").value == top_archs(at)[0]
    at.segmented_control(key="sr_view").set_value("The picked cell").run()
    assert not at.exception, at.exception
    assert at.code[0].value == top_archs(at)[0] and len(at.get("plotly_chart")) >= 3


def test_without_accuracy_the_page_says_rho_cannot_be_computed(monkeypatch, tmp_path):
    monkeypatch.setenv("SWAP_EXPLORER_DATA", str(tmp_path))
    at = open_page()
    assert PLAIN not in metric_values(at)
    assert any("ρ cannot be computed" in str(i.value) for i in at.info)
    assert len(top_archs(at)) == 10 and len(at.get("plotly_chart")) == 2


def test_open_a_top_cell_in_the_cell_designer():
    at = open_page()
    picked = top_archs(at)[1]
    at.selectbox(key="sr_pick").set_value(picked).run()
    at.button(key="sr_open").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Cell Designer"
    assert at.session_state["arch_by_space"]["nb201"] == picked


def test_opens_at_the_tuned_point_and_never_moves_it_while_scores_arrive():
    mu, sigma = sr.TUNED_POINTS["nb201", "teaching"]
    at = open_app(PAGE, state={"sr_size": 100, "sb_batch": 16})  # enough cells to still be scoring when first drawn
    seen = []
    for _ in range(600):
        if "sr_mu" in at.session_state and at.slider(key="sr_mu") is not None:
            seen.append((at.slider(key="sr_mu").value, at.select_slider(key="sr_log_sigma").value,
                         metric_values(at).get("Cells scored")))
        if metric_values(at).get("Cells scored") == "100 of 100":
            break
        time.sleep(0.2)
        at.run()
    assert not at.exception, at.exception
    assert len({cells for *_, cells in seen}) >= 2, seen  # drawn at least twice as the scores arrived
    assert {(m, s) for m, s, _ in seen} == {(mu, math.log10(sigma))}, seen
    at.select_slider(key="sr_log_sigma").set_value(7.0).run()  # the user's point is kept
    at.run()
    assert at.select_slider(key="sr_log_sigma").value == 7.0 and at.slider(key="sr_mu").value == mu


def test_histogram_bars_and_top_10_rows_light_each_other_up():
    at = open_page()
    assert size_figures.PICKED not in str(at.get("plotly_chart")[-2].proto.spec)
    at.session_state["sr_top_row"] = 0  # as the top-10's row selection sets it
    at.run()
    histogram = json.loads(at.get("plotly_chart")[1].proto.spec)["data"][0]
    assert histogram["type"] == "bar" and histogram["marker"]["color"].count(size_figures.PICKED) == 1
    lit = histogram["marker"]["color"].index(size_figures.PICKED)
    assert "FFE8A3" not in str(at.dataframe[0].proto)  # no bar picked yet: no row lit
    at.session_state["sr_bars"] = [lit]  # as a click on that bar sets it
    at.session_state["sr_top_row"] = None
    at.run()
    assert not at.exception, at.exception
    assert "FFE8A3" in str(at.dataframe[0].proto)
