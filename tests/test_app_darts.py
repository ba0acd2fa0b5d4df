"""The DARTS & perturbation page (Streamlit AppTest): Start trains a supernet in a worker while
the page redraws what it has, Stop freezes it at once, and "Choose the cells" runs
perturbation selection in a worker (on a copy of the supernet) and draws the cells of both
rules with their benchmark accuracy. 64–128 images and one or two epochs keep each test to
seconds on a CPU."""
import time

import pytest
import torch
from conftest import counter, counts_while_active, metric_values, open_app, page_run, stop_after_a_run, \
    wait_for_states

from swap_core.spaces.nb201 import OPS
from ui import darts_flops

TRADEOFF = int(darts_flops.committed_tradeoff() is not None)  # the committed trade-off figure, once computed

PAGE = "app_pages/oneshot_darts.py"
KEY, CHOICE_KEY = "od_run", "od_choice_run"


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """Tiny networks: one thread is as fast, and spinning threads on a busy CPU is slow. Set
    once for the module, as a server sets its count once at start."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def open_page(epochs: int = 1, images: int = 64, **state):
    return open_app(PAGE, state={"od_epochs": epochs, "od_images": images, **state})


def status(at) -> str:
    return metric_values(at)["Status"]


def test_page_runs_offers_start_and_shows_the_command_with_the_servers_threads():
    at = open_page()
    assert at.title[0].value == "DARTS & perturbation"
    assert at.expander[0].label.startswith("How do DARTS")
    assert not at.button(key="od_start").disabled and at.button(key="od_stop").disabled
    assert at.button(key="od_pause").disabled
    assert "Step" not in metric_values(at)  # nothing trains yet
    assert at.code[0].value == ("python -m swap_core oneshot darts --selection magnitude,perturbation --seeds 0 "
                                "--epochs 1 --images 64 --threads 1")
    assert any("1 torch thread" in c.value for c in at.caption)
    assert at.code[-1].value == darts_flops.TRADEOFF_COMMAND  # how to (re)compute the trade-off runs
    assert len(at.get("plotly_chart")) == TRADEOFF


def test_flops_weight_slider_goes_into_the_run_and_its_command_line():
    at = open_page()
    slider = at.select_slider(key="od_flops_weight")
    assert slider.value == 0.0 and list(slider.options) == [f"{w:g}" for w in darts_flops.LAMBDAS]
    slider.set_value(3.0).run()
    assert "--epochs 1 --flops-weight 3 --images 64 --threads 1" in at.code[0].value
    at.button(key="od_start").click().run()
    counts_while_active(at, KEY)
    trace = at.session_state["od_trace"]
    assert trace.config.flops_weight == 3.0 and len(trace.mflops) == 2  # start, one epoch
    assert trace.mflops[1] < trace.mflops[0]  # priced: the expected cost fell in the first epoch
    assert len(at.get("plotly_chart")) == 4 + TRADEOFF  # curves, α now, skip-connect, expected MFLOPs


def test_start_trains_in_a_worker_and_reaches_done():
    at = open_page(epochs=2, images=128)  # 2 steps per epoch
    at.button(key="od_start").click().run()
    assert not at.exception, at.exception
    steps = counts_while_active(at, KEY)
    assert steps == sorted(steps) and steps[-1] == 4
    assert status(at) == "done" and counter(at) == (4, 4) and page_run(at, KEY).states == 4
    assert metric_values(at)["Validation accuracy"].endswith("%")
    assert len(at.get("plotly_chart")) == 4 + TRADEOFF  # curves, α now, skip-connect, expected MFLOPs over epochs
    assert not at.button(key="od_start").disabled and at.button(key="od_stop").disabled
    assert at.button(key="od_choose")


def test_stop_freezes_the_step_count():
    at = open_page(epochs=50, images=128)
    frozen = stop_after_a_run(at, "od_start", "od_stop", KEY)
    assert status(at) == "stopped" and 1 <= frozen < 100
    at.run()
    assert counter(at)[0] == frozen
    assert at.button(key="od_choose")  # a stopped supernet can still be used


def test_pause_and_resume():
    at = open_page(epochs=50, images=128)
    at.button(key="od_start").click().run()
    run = page_run(at, KEY)
    wait_for_states(run)
    at.button(key="od_pause").click().run()
    assert run.status == "paused" and status(at) == "paused"
    paused_at = run.states
    time.sleep(0.5)
    assert run.states <= paused_at + 1  # the step in progress may still publish
    at.button(key="od_resume").click().run()
    assert run.status == "running"
    wait_for_states(run, run.states + 1)
    at.button(key="od_stop").click().run()
    assert not at.exception, at.exception


def progress_text(at) -> str:
    return at.get("progress")[0].proto.text


def trained_page():
    at = open_page(od_alpha="learned (DARTS)")
    at.button(key="od_start").click().run()
    counts_while_active(at, KEY)
    assert status(at) == "done"
    return at


def test_choose_the_cells_shows_progress_then_both_cells_with_accuracies():
    at = trained_page()
    at.button(key="od_choose").click().run()
    assert not at.exception, at.exception
    assert "of 30" in progress_text(at) and at.button(key="od_choose").disabled
    assert len([m for m in at.metric if m.label == "NAS-Bench-201 CIFAR-10 accuracy"]) == 1  # magnitude at once
    choice = page_run(at, CHOICE_KEY)
    assert choice.wait(120) and choice.status == "done"
    at.run()
    assert not at.exception, at.exception
    assert "done — validation pass 30 of 30, 6 of 6 edges decided" in progress_text(at)
    accuracy = [m.value for m in at.metric if m.label == "NAS-Bench-201 CIFAR-10 accuracy"]
    assert len(accuracy) == 2 and all(a == "—" or a.endswith("%") for a in accuracy)
    decisions = at.dataframe[0].value
    assert len(decisions) == 6 and set(decisions["kept"]) <= set(OPS)
    assert len(at.get("plotly_chart")) == 4 + 2 + TRADEOFF
    assert len([m for m in at.metric if m.label == "Benchmark network MFLOPs"]) == 2
    assert at.button(key="od_choose_stop").disabled and not at.button(key="od_choose").disabled
    assert len(at.get("download_button")) == 2
    at.button(key="od_open_perturbation").click().run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Cell Designer"


def test_perturbation_runs_on_a_copy_of_the_supernet():
    at = trained_page()
    supernet = at.session_state["od_trace"].last.supernet
    before = {name: value.clone() for name, value in supernet.state_dict().items()}
    at.button(key="od_choose").click().run()
    assert page_run(at, CHOICE_KEY).wait(120)
    assert all(torch.equal(before[name], value) for name, value in supernet.state_dict().items())


def test_stop_ends_perturbation_selection_without_a_cell():
    at = trained_page()
    at.button(key="od_choose").click().run()
    choice = page_run(at, CHOICE_KEY)
    wait_for_states(choice)
    at.button(key="od_choose_stop").click().run()
    assert not at.exception, at.exception
    assert choice.status == "stopped"
    text = progress_text(at)
    assert "stopped" in text and "of 30" in text
    time.sleep(0.5)
    at.run()
    assert progress_text(at) == text  # nothing more ran
    assert len([m for m in at.metric if m.label == "NAS-Bench-201 CIFAR-10 accuracy"]) == 1  # magnitude only
    assert not at.button(key="od_choose").disabled  # it can be chosen again


def test_another_space_is_told_to_switch():
    at = open_app(PAGE, query={"space": "darts"})
    assert "NAS-Bench-201 supernet only" in at.info[0].value
    assert len(at.button) == 0  # nothing to start
