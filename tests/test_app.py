"""Every page runs without an exception (Streamlit AppTest); the shell and the Cell Designer
react to their widgets and to the link they were opened with."""
import time

from conftest import metric_values, open_app
from swap_core import benchmarks
from swap_core.spaces import get_space

NB201 = get_space("nb201")
DESIGNER = "app_pages/cell_designer.py"


def _app(**query):
    return open_app(query=query)


def _designer(**query):
    return open_app(DESIGNER, query=query)


def _metric(at, label: str) -> str:
    return metric_values(at)[label]


def test_overview_page_lists_registries():
    at = _app()
    assert not at.exception, at.exception
    text = " ".join(str(t.value) for t in at.markdown) + " ".join(str(t.value) for t in at.caption)
    assert "SWAP-Score" in text
    assert len(at.dataframe) >= 3
    assert any("files found" in c.value for c in at.sidebar.caption)


def test_link_values_are_used_and_bad_ones_explained():
    at = _app(arch=NB201.named_archs["ResNet-like"], batch="32", seed="7")
    assert not at.exception and not at.error
    assert at.sidebar.number_input(key="sb_batch").value == 32 and at.sidebar.number_input(key="sb_seed").value == 7
    assert at.query_params["arch"] == NB201.named_archs["ResNet-like"]
    bad = _app(arch="|nor_conv_3x3~0|+|bogus|", batch="lots", space="nb999", device="quantum")
    assert not bad.exception
    messages = " ".join(e.value for e in bad.error)
    for expected in ("not a valid NAS-Bench-201 cell", "batch size must be a whole number", "unknown search space",
                     "unknown device"):
        assert expected in messages
    assert bad.query_params["arch"] == NB201.example and bad.query_params["batch"] == "64"


def _scored_table(at, timeout: float = 60.0):
    """The Cell Designer's proxy table once every fast proxy of the cell is in (the page
    shows the headline at once and the others as the engine's worker scores them)."""
    deadline = time.monotonic() + timeout
    while True:
        table = at.dataframe[0].value.set_index("proxy")
        if not table["note"].eq("scoring…").any() or time.monotonic() > deadline:
            return table
        time.sleep(0.3)
        at.run()


def test_designer_edit_changes_scores_size_and_link():
    at = _designer()
    before = {label: _metric(at, label) for label in ("SWAP-Score", "Parameters", "Accuracy")}
    at.selectbox(key="cd_slot_nb201_0-1").set_value("none").run()
    assert not at.exception, at.exception
    after = {label: _metric(at, label) for label in before}
    assert all(after[label] != before[label] for label in before), (before, after)
    assert at.query_params["arch"].startswith("|none~0|")
    table = _scored_table(at)
    assert table.loc["params", "score"] < 0.06 and table.loc["ntk_cond", "note"].startswith("off")


def test_designer_presets_paste_random_and_mutate():
    at = _designer()
    at.selectbox(key="cd_preset").set_value("ResNet-like").run()
    assert at.query_params["arch"] == NB201.named_archs["ResNet-like"]
    at.text_input(key="cd_paste").input("|nor_conv_3x3~0|+|oops").run()
    assert any("not a valid NAS-Bench-201 cell" in e.value for e in at.error)
    assert at.query_params["arch"] == NB201.named_archs["ResNet-like"]  # nothing lost
    at.button[0].click().run()  # Random
    first_random = at.query_params["arch"]
    at.button[1].click().run()  # Mutate: one edge differs
    mutated = at.query_params["arch"]
    assert sum(a != b for a, b in zip(NB201.from_str(first_random).ops, NB201.from_str(mutated).ops)) == 1
    again = _designer()
    again.selectbox(key="cd_preset").set_value("ResNet-like").run()
    again.button[0].click().run()
    assert again.query_params["arch"] == first_random  # same seed, same clicks, same cell


def test_designer_draws_and_edits_darts_cells():
    at = _designer(space="darts")
    titles = [c.value for c in at.markdown]
    assert any("normal cell" in t for t in titles) and any("reduce cell" in t for t in titles)
    key = "cd_slot_darts_normal:0:op"
    at.selectbox(key=key).set_value("max_pool_3x3").run()
    assert not at.exception, at.exception
    assert "('max_pool_3x3', " in at.query_params["arch"].split("normal_concat")[0]


def test_without_data_the_app_says_what_is_missing(monkeypatch, tmp_path):
    monkeypatch.setenv("SWAP_EXPLORER_DATA", str(tmp_path))
    at = _designer()
    assert _metric(at, "Accuracy") == "—"
    status = at.sidebar.caption[-1].value
    assert f"0 of {len(benchmarks.CATALOGUE)} files found" in status and "nb201_accuracy.csv" in status and "fetch-data" in status
    assert not any(label.startswith("best by accuracy") for label in at.selectbox(key="cd_preset").options)


def test_an_unavailable_image_source_is_a_message_and_auto_is_used(monkeypatch, tmp_path):
    monkeypatch.setenv("SWAP_EXPLORER_DATA", str(tmp_path))  # no CIFAR-10 archive to read
    monkeypatch.setenv("SWAP_EXPLORER_CACHE", str(tmp_path))
    at = _designer(source="cifar10-download")
    assert not at.exception, at.exception
    assert any("not available" in e.value for e in at.sidebar.error)
    assert _metric(at, "SWAP-Score") not in ("", "—")
