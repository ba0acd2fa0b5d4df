"""The Cell Designer's "Train this cell" (AppTest): Start trains the current cell in a worker and
ends with a validation accuracy; Stop freezes the step count at once; a failure to load
images is a message, not an exception."""
from conftest import counter, counts_while_active, metric_values, open_app, page_run, require_file, stop_after_a_run

DESIGNER = "app_pages/cell_designer.py"
KEY = "cd_train_run"


def _designer(**state):
    return open_app(DESIGNER, state={"cd_train_epochs": 1, "cd_train_images": 128, **state})


def test_train_this_cell_runs_to_a_validation_accuracy_and_exports_the_curve():
    require_file("cifar10_sample.npz")
    at = _designer()
    at.button(key="cd_train_start").click().run()
    assert not at.exception, at.exception
    steps = counts_while_active(at, KEY)
    assert steps == sorted(steps) and steps[-1] == 2  # 128 images, batch 64: 2 steps in one epoch
    values = metric_values(at)
    assert values["Status"] == "done" and values["Validation accuracy (here)"].endswith("%")
    assert page_run(at, KEY).states == 2
    assert at.get("download_button")


def test_stop_freezes_training():
    require_file("cifar10_sample.npz")
    at = _designer(cd_train_epochs=20)
    stopped = stop_after_a_run(at, "cd_train_start", "cd_train_stop", KEY)
    assert metric_values(at)["Status"] == "stopped" and 1 <= counter(at)[0] == stopped < 40
    assert not at.button(key="cd_train_start").disabled and at.button(key="cd_train_stop").disabled


def test_without_images_the_panel_says_why(monkeypatch, tmp_path):
    monkeypatch.setenv("SWAP_EXPLORER_DATA", str(tmp_path))
    at = _designer()
    at.button(key="cd_train_start").click().run()
    assert not at.exception, at.exception
    assert any("Could not train" in e.value for e in at.error)
