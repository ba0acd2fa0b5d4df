"""The Proxy Lab's cluster job (issue 22): `swap_core.cluster_job` on the local engine and on a
real Ray cluster, and the page's "Score on the Ray cluster" section — absent without
$RAY_ADDRESS, and with it a small job that lands in the store and in the page's table."""
import math

import pytest

from conftest import open_app, until_scored
from swap_core import cluster_job
from swap_core.engines import LocalEngine
from swap_core.explorer import sample_architectures
from swap_core.setup import Setup
from swap_core.spaces import get_space
from swap_core.store import ScoreStore

PAGE = "app_pages/proxy_lab.py"
NAMES = ("params", "synflow")
SETUP = Setup(space="nb201", preset="teaching", images="noise", batch=8, seed=3, threads=1)


def _archs(n: int, seed: int = 3) -> list[str]:
    return sample_architectures(get_space("nb201"), n, seed)


class ClosingEngine(LocalEngine):
    """The local engine, remembering whether it was closed."""
    closed = 0

    def close(self) -> None:
        ClosingEngine.closed += 1


@pytest.fixture
def closing_engine(monkeypatch):
    ClosingEngine.closed = 0
    monkeypatch.setattr(cluster_job, "open_engine", lambda *args, **kwargs: ClosingEngine())
    return ClosingEngine


def test_states_count_every_cell_and_the_store_gets_them(tmp_path, closing_engine):
    store, archs = ScoreStore(tmp_path / "s.sqlite"), _archs(4)
    states = list(cluster_job.cluster_scoring_states(SETUP, archs, NAMES, store))
    assert [s.done for s in states] == [1, 2, 3, 4] and all(s.total == 4 for s in states)
    last = states[-1]
    assert last.failed == 0 and last.stored == 0 and last.computed == 4 and last.eta_s == 0.0
    assert math.isfinite(last.rate) and last.rate > 0 and 0 <= last.connect_s <= last.elapsed_s
    assert last.text().startswith("4 of 4 cells, ") and "cells/s, ETA 0 s" in last.text()
    assert all(store.row(SETUP, arch, NAMES) is not None for arch in archs)
    assert closing_engine.closed == 1
    again = list(cluster_job.cluster_scoring_states(SETUP, archs, NAMES, store))
    assert again[-1].stored == 4 and again[-1].computed == 0  # the store's cells are not sent again
    assert "already in the store" in again[-1].text()


def test_closing_early_closes_the_engine_and_keeps_what_finished(tmp_path, closing_engine):
    store, archs = ScoreStore(tmp_path / "s.sqlite"), _archs(5)
    states = cluster_job.cluster_scoring_states(SETUP, archs, NAMES, store)
    first = next(states)
    assert first.done == 1 and first.total == 5 and closing_engine.closed == 0
    states.close()  # what the app's Stop does in the run's worker
    assert closing_engine.closed == 1
    assert store.row(SETUP, archs[0], NAMES) is not None


def test_bad_jobs_and_helpers(monkeypatch):
    with pytest.raises(ValueError, match="at least one architecture"):
        next(cluster_job.cluster_scoring_states(SETUP, [], NAMES, None, engine="local"))
    with pytest.raises(ValueError, match="at least one proxy"):
        next(cluster_job.cluster_scoring_states(SETUP, _archs(1), [], None, engine="local"))
    with pytest.raises(ValueError, match="not finite"):
        cluster_job.whole_space("darts")
    space = cluster_job.whole_space("nb201")
    assert len(space) == 15625 == len(set(space))
    ordered = cluster_job.first_then_rest(space[5:7][::-1], space)
    assert ordered[:2] == [space[6], space[5]] and sorted(ordered) == sorted(space)
    assert [cluster_job.duration(s) for s in (math.nan, 42.4, 200, 7500)] == ["–", "42 s", "3 min 20 s", "2 h 05 min"]
    waiting = cluster_job.ClusterState(3, 10, 2, 1, 5.0, "a: RayError", "ray engine", connect_s=5.0)
    assert math.isnan(waiting.rate) and math.isnan(waiting.eta_s)  # still connecting: no rate yet
    assert waiting.text() == "3 of 10 cells, – cells/s, ETA – (1 already in the store); 2 failed"
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert cluster_job.cluster_address() is None
    monkeypatch.setenv("RAY_ADDRESS", " 10.0.0.5:6379 ")
    assert cluster_job.cluster_address() == "10.0.0.5:6379"


def test_no_cluster_section_without_ray_address(monkeypatch):
    waiting = cluster_job.ClusterState(3, 10, 2, 1, 5.0, "a: RayError", "ray engine", connect_s=5.0)
    assert math.isnan(waiting.rate) and math.isnan(waiting.eta_s)  # still connecting: no rate yet
    assert waiting.text() == "3 of 10 cells, – cells/s, ETA – (1 already in the store); 2 failed"
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    at = until_scored(open_app(PAGE, state={"pl_size": 10, "sb_batch": 16, "pl_proxies": list(NAMES)}), "pl_scoring")
    assert not at.exception, at.exception
    assert all("Ray cluster" not in e.label for e in at.expander)
    assert not [b for b in at.button if b.key == "pl_cluster_start"]
    assert "pl_cluster_target" not in at.session_state


@pytest.mark.ray
def test_cluster_states_on_a_real_cluster(ray_address, tmp_path):
    store, archs = ScoreStore(tmp_path / "s.sqlite"), _archs(6, seed=11)
    states = list(cluster_job.cluster_scoring_states(SETUP, archs, NAMES, store, address=ray_address))
    assert len(states) == 6 and states[-1].done == 6 and states[-1].failed == 0, states[-1]
    assert states[-1].engine.startswith("ray engine: the Ray cluster")
    local = ScoreStore(tmp_path / "local.sqlite")
    list(cluster_job.cluster_scoring_states(SETUP, archs, NAMES, local, engine="local"))
    for arch in archs:  # the cluster's numbers are this process's numbers
        assert store.row(SETUP, arch, NAMES)["synflow"] == pytest.approx(local.row(SETUP, arch, NAMES)["synflow"])


@pytest.mark.ray
def test_the_page_sends_its_set_to_the_cluster_and_shows_the_cells(ray_address, monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", ray_address)
    at = open_app(PAGE, state={"pl_size": 10, "sb_batch": 8, "sb_seed": 5, "sb_source": "noise",
                               "pl_proxies": list(NAMES)})
    assert any(e.label == "Score on the Ray cluster" for e in at.expander)
    targets = at.segmented_control(key="pl_cluster_target")
    assert targets.value == "set" and len(targets.options) == 2  # this set, or the whole (finite) NB201 space
    at.button(key="pl_cluster_start").click().run()
    assert not at.exception, at.exception
    run = at.session_state["pl_cluster_run"]
    assert run.wait(120), f"the cluster job is still {run.status}"
    assert run.status == "done", run.error
    state = run.state
    assert state.done == state.total == 10 and state.failed == 0, state
    assert state.engine.startswith("ray engine: the Ray cluster")
    until_scored(at, "pl_scoring")
    from ui.scoring import store

    setup = Setup(space="nb201", preset="teaching", images="noise", batch=8, seed=5)
    archs = sample_architectures(get_space("nb201"), 10, 5)  # the page's "random cells of the space"
    assert all(store().row(setup, arch, NAMES) is not None for arch in archs)
    assert any(m.value.startswith("Done: 10 random cells (seed 5), scored on the cluster") for m in at.success), [m.value for m in at.success]
    assert "over 10 architectures" in at.get("plotly_chart")[0].proto.spec  # the page's matrix: the 10 cells
