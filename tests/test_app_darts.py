"""The DARTS & perturbation page (Streamlit AppTest): Start trains a supernet a little per run
of the page's fragment, Stop freezes it, and "Choose the cells" draws the cells of both
selection rules with their benchmark accuracy. 64–128 images and one or two epochs keep each
test to seconds on a CPU; `od_budget_s` = 0 makes every page run take exactly one step."""
import pytest
import torch
from conftest import counter, metric_values, open_app, run_while_running

from swap_core.spaces.nb201 import OPS

PAGE = "app_pages/oneshot_darts.py"


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny networks: one thread is as fast, and spinning threads on a busy CPU is slow."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def open_page(epochs: int = 1, images: int = 64, **state):
    return open_app(PAGE, state={"od_epochs": epochs, "od_images": images, "od_budget_s": 0.0, **state})


steps = counter


def status(at) -> str:
    return metric_values(at)["Status"]


def test_page_runs_and_offers_start():
    at = open_page()
    assert at.title[0].value == "DARTS & perturbation"
    assert at.expander[0].label.startswith("How do DARTS")
    assert not at.button(key="od_start").disabled and at.button(key="od_stop").disabled
    assert "Step" not in metric_values(at)  # nothing trains yet


def test_start_advances_the_steps_and_reaches_done():
    at = open_page(epochs=2, images=128)  # 2 steps per epoch
    at.button(key="od_start").click().run()
    assert not at.exception, at.exception
    first, total = steps(at)
    assert (first, total) == (1, 4) and status(at) == "running"
    at.run()
    assert steps(at)[0] == 2
    run_while_running(at, runs=10)
    assert status(at) == "done" and steps(at) == (4, 4)
    assert metric_values(at)["Validation accuracy"].endswith("%")
    assert len(at.get("plotly_chart")) == 3  # curves, α now, skip-connect over epochs
    assert not at.button(key="od_start").disabled
    assert at.button(key="od_choose")


def test_stop_freezes_the_step_count():
    at = open_page(epochs=2, images=128)
    at.button(key="od_start").click().run()
    at.button(key="od_stop").click().run()
    assert not at.exception, at.exception
    frozen = steps(at)[0]
    assert status(at) == "stopped" and frozen < 4
    at.run()
    assert steps(at)[0] == frozen
    assert at.button(key="od_choose")  # a stopped supernet can still be used


def progress_text(at) -> str:
    return at.get("progress")[0].proto.text


def trained_page():
    at = open_page(od_alpha="learned (DARTS)")
    at.button(key="od_start").click().run()
    run_while_running(at, runs=10)
    assert status(at) == "done"
    return at


def test_choose_the_cells_shows_progress_then_both_cells_with_accuracies():
    at = trained_page()
    at.button(key="od_choose").click().run()  # one validation pass per page run (od_budget_s = 0)
    assert not at.exception, at.exception
    assert "validation pass 1 of 30" in progress_text(at) and at.button(key="od_choose").disabled
    assert len([m for m in at.metric if m.label == "NAS-Bench-201 CIFAR-10 accuracy"]) == 1  # magnitude at once
    at.session_state["od_budget_s"] = 1.0
    for _ in range(40):
        if "done" in progress_text(at):
            break
        at.run()
        assert not at.exception, at.exception
    assert "done — validation pass 30 of 30, 6 of 6 edges decided" in progress_text(at)
    accuracy = [m.value for m in at.metric if m.label == "NAS-Bench-201 CIFAR-10 accuracy"]
    assert len(accuracy) == 2 and all(a == "—" or a.endswith("%") for a in accuracy)
    decisions = at.dataframe[0].value
    assert len(decisions) == 6 and set(decisions["kept"]) <= set(OPS)
    assert len(at.get("plotly_chart")) == 3 + 2
    assert at.button(key="od_choose_stop").disabled and not at.button(key="od_choose").disabled
    assert len(at.get("download_button")) == 2
    at.button(key="od_open_perturbation").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Cell Designer"


def test_stop_ends_perturbation_selection_without_a_cell():
    at = trained_page()
    at.button(key="od_choose").click().run()
    at.button(key="od_choose_stop").click().run()
    assert not at.exception, at.exception
    text = progress_text(at)
    assert "stopped" in text and "of 30" in text
    at.run()
    assert progress_text(at) == text  # nothing more ran
    assert len([m for m in at.metric if m.label == "NAS-Bench-201 CIFAR-10 accuracy"]) == 1  # magnitude only
    assert not at.button(key="od_choose").disabled  # it can be chosen again


def test_another_space_is_told_to_switch():
    at = open_app(PAGE, query={"space": "darts"})
    assert "NAS-Bench-201 supernet only" in at.info[0].value
    assert len(at.button) == 0  # nothing to start
