"""The Activation Patterns page (Streamlit AppTest): it runs, its counts follow the sidebar's
batch and its own controls, and every view behind the segmented control renders. Small
batches and the teaching network keep each run to a few seconds on a CPU; no data needed."""
from conftest import metric_values, open_app

PAGE = "app_pages/activation_patterns.py"


def open_page(batch: int = 16):
    return open_app(PAGE, state={"sb_batch": batch})


def metrics(at) -> dict[str, float]:
    return {label: float(value.replace(",", "")) for label, value in metric_values(at).items()}


def captions(at) -> str:
    return " ".join(str(c.value) for c in at.caption)


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
    assert "log|det K_H|" in captions(at) and metrics(at)["log|det K_H| (NASWOT score)"] > 0
    at.segmented_control(key="ap_view").set_value("Per-layer breakdown").run()
    assert not at.exception, at.exception
    layers = at.dataframe[0].value
    assert {"layer", "units", "sample_wise", "standard"} <= set(layers.columns)
    assert (layers["standard"] <= 8).all() and len(at.get("download_button")) == 1

    at.segmented_control(key="ap_view").set_value("Saturation: batch size").run()
    at.select_slider(key="ap_max_batch").set_value(16).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table["batch_size"].tolist() == [2, 4, 8, 16]
    assert (table["standard"] <= table["standard_bound"]).all()
    assert (table["sample_wise"] <= table["sample_wise_bound"]).all()

    at.segmented_control(key="ap_view").set_value("Saturation: resolution").run()
    at.pills(key="ap_resolutions").set_value([8, 16]).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert table["input_size"].tolist() == [8, 16] and (table["batch_size"] == 8).all()
    assert table["units"].iloc[1] == 4 * table["units"].iloc[0]  # 4× the pixels, 4× the units
