"""The Linear Regions page (Streamlit AppTest): both views run, the toy's region count
follows its sliders, and the image slice follows its window. Small grids and the teaching
network keep each run to a few seconds on a CPU; no data needed (other images are used)."""
from conftest import metric_values, open_app

from swap_core import slice_window

PAGE = "app_pages/linear_regions.py"
SLICE = "Slice of image space (current cell)"


def open_page(**state):
    return open_app(PAGE, state=state)


def metrics(at) -> dict[str, float]:
    return {label: float(value.replace(",", "")) for label, value in metric_values(at).items()}


def rerun(at) -> dict[str, float]:
    at.run()
    assert not at.exception, at.exception
    return metrics(at)


def test_toy_count_follows_width_and_depth():
    at = open_page(lr_toy_resolution=100)
    first = metrics(at)
    count = "Regions met on the grid"
    assert first["Hidden ReLU units"] == 16 and 1 <= first[count] <= first["Upper bound for these widths"]
    assert len(at.get("plotly_chart")) == 2  # the region map and the output surface
    assert len(at.download_button) == 2
    at.slider(key="lr_width").set_value(24)
    wider = rerun(at)
    assert wider["Hidden ReLU units"] == 48 and wider[count] != first[count]
    at.slider(key="lr_depth").set_value(4)
    deeper = rerun(at)
    assert deeper["Hidden ReLU units"] == 96 and deeper[count] != wider[count]
    at.selectbox(key="lr_init").set_value("kaiming")
    assert rerun(at)[count] != deeper[count]


def test_image_slice_opens_on_a_window_where_regions_read_as_regions():
    at = open_page(lr_view=SLICE, lr_resolution=25, sb_batch=8)
    opened = metrics(at)
    crossed = "Regions the slice crosses (on the grid)"
    window = at.select_slider(key="lr_window").value
    assert window != "whole plane" and window in slice_window.HALF_WIDTHS
    assert opened["Grid points"] == 625 and 2 <= opened[crossed] <= 625 / 5  # patches, not a checkerboard
    assert opened["ReLU units per image"] > 10_000
    assert len(at.image) == 1 and len(at.get("plotly_chart")) == 1 and len(at.download_button) == 3
    at.select_slider(key="lr_window").set_value("whole plane")
    whole = rerun(at)
    assert whole[crossed] > 625 / 2  # the whole plane: nearly every grid point in its own region
    at.segmented_control(key="lr_colour").set_value("Units flipped vs x0")
    rerun(at)
    assert at.select_slider(key="lr_window").value == "whole plane"  # the user's window is kept


def test_equal_images_span_no_plane():
    at = open_page(lr_view=SLICE, lr_resolution=25, lr_image1=0, sb_batch=8)
    assert "three different images" in at.warning[0].value
    assert not at.metric


def test_a_smaller_batch_pulls_the_image_indices_into_range():
    at = open_page(lr_view=SLICE, lr_resolution=25, sb_batch=8, lr_image2=7)
    at.number_input(key="sb_batch").set_value(4)
    rerun(at)
    assert at.number_input(key="lr_image2").value == 2
    at.number_input(key="sb_batch").set_value(2)
    rerun(at)
    assert "batch size to 3 or more" in at.warning[0].value
