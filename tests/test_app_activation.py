"""The Activation Patterns page (Streamlit AppTest): it runs, its counts follow the sidebar's
batch and its own controls, and every view behind the segmented control renders. Small
batches and the teaching network keep each run to a few seconds on a CPU; no data needed."""
import json

from conftest import metric_values, open_app

from ui import pattern_figures as figures

PAGE = "app_pages/activation_patterns.py"


def open_page(batch: int = 16):
    return open_app(PAGE, state={"sb_batch": batch})


def metrics(at) -> dict[str, float]:
    """The numeric metrics (the small example's "k of n" counts are read with `metric_values`)."""
    return {label: float(value.replace(",", "")) for label, value in metric_values(at).items()
            if " of " not in value}


def captions(at) -> str:
    return " ".join(str(c.value) for c in at.caption)


def small_charts(at) -> list[dict]:
    """The small example's two matrices (their titles say "read a row"), as Plotly JSON."""
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return [c for c in charts if "read a row" in str(c["layout"].get("title", {}).get("text", ""))]


def test_counts_follow_the_sidebar_batch():
    at = open_page(batch=16)
    first = metrics(at)
    assert first["Samples N"] == 16
    assert first["Distinct standard patterns"] <= 16
    assert first["Distinct sample-wise patterns"] <= first["Units U"]
    assert len(at.get("plotly_chart")) >= 3  # two pattern heatmaps and the default view
    at.number_input(key="sb_batch").set_value(8).run()
    assert not at.exception, at.exception
    second = metrics(at)
    assert second["Samples N"] == 8 and second["Distinct standard patterns"] <= 8
    assert second["Distinct sample-wise patterns"] != first["Distinct sample-wise patterns"]
    assert second["Units U"] == first["Units U"]


def test_page_controls_change_what_is_shown():
    at = open_page()
    assert "Among the 200 units shown" in captions(at)
    before = metrics(at)["Distinct sample-wise patterns"]
    at.select_slider(key="ap_units").set_value(100).run()
    assert "Among the 100 units shown" in captions(at)
    assert at.radio(key="ap_init").value == "gaussian"  # opens on SWAP's weights: the Cell Designer's SWAP
    at.radio(key="ap_init").set_value("default").run()
    at.toggle(key="ap_group").set_value(True).run()
    assert not at.exception, at.exception
    assert metrics(at)["Distinct sample-wise patterns"] != before  # other weights, other patterns
    assert "rows sorted so equal patterns are adjacent" in captions(at)


def test_every_view_renders_with_a_table_to_download():
    at = open_page(batch=8)
    at.segmented_control(key="ap_view").set_value("NASWOT kernel").run()
    assert "log|det K_H|" in captions(at) and metrics(at)["log|det K_H| (NASWOT score)"] > 0
    at.segmented_control(key="ap_view").set_value("Per-layer breakdown").run()
    assert not at.exception, at.exception
    layers = at.dataframe[1].value  # after the saturation table, which is always there
    assert {"layer", "units", "sample_wise", "standard"} <= set(layers.columns)
    assert (layers["standard"] <= 8).all() and len(at.get("download_button")) == 2

    at.select_slider(key="ap_max_batch").set_value(16).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table["batch_size"].tolist() == [2, 4, 8, 16]
    assert (table["standard"] <= table["standard_bound"]).all()
    assert (table["sample_wise"] <= table["sample_wise_bound"]).all()

    at.segmented_control(key="ap_view").set_value("Saturation: resolution").run()
    at.pills(key="ap_resolutions").set_value([8, 16]).run()
    assert not at.exception, at.exception
    table = at.dataframe[1].value
    assert table["input_size"].tolist() == [8, 16] and (table["batch_size"] == 8).all()
    assert table["units"].iloc[1] == 4 * table["units"].iloc[0]  # 4× the pixels, 4× the units


def test_opens_on_a_small_example_with_repeats_marked_and_the_saturation_plot():
    at = open_page(batch=16)
    values = metric_values(at)
    assert values["Distinct rows, left (standard)"] == "6 of N = 6"  # 6 inputs: capped at N
    distinct, bound = values["Distinct rows, right (sample-wise)"].split(" of ")
    assert bound == "24" and 1 <= int(distinct) <= 24  # min(24 units, 2^6)
    charts = {chart["layout"]["title"]["text"].split(":")[0]: chart for chart in small_charts(at)}
    standard, sample_wise = charts["Standard patterns (NASWOT)"], charts["Sample-wise patterns (SWAP)"]
    ticks = sample_wise["layout"]["yaxis"]["ticktext"]
    assert len(ticks) == 24 and sum("= u" in t for t in ticks) == 24 - int(distinct)  # every repeat named
    assert {t["name"] for t in standard["data"]} == {"on (active, output > 0)", "off (inactive)"}  # the legend
    saturation = json.loads(at.get("plotly_chart")[1].proto.spec)  # beside the small example, no click needed
    assert saturation["layout"]["title"]["text"].startswith("The whole network")
    at.slider(key="ap_ex_samples").set_value(4).run()
    assert metric_values(at)["Distinct rows, left (standard)"] == "4 of N = 4"


def test_a_picked_input_and_unit_are_outlined_in_both_matrices():
    at = open_page(batch=16)
    before = [len(chart["layout"].get("shapes", [])) for chart in small_charts(at)]
    at.session_state["ap_pick"] = (2, 5)  # as a click on input 2, unit 5 of either matrix sets it
    at.run()
    assert not at.exception, at.exception
    for chart, count in zip(small_charts(at), before):
        shapes = chart["layout"]["shapes"]
        assert len(shapes) == count + 2 and sum(s["line"]["color"] == figures.SELECTED for s in shapes) == 2
