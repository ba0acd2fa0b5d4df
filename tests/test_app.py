"""Every page runs without an exception (Streamlit AppTest)."""
from streamlit.testing.v1 import AppTest

from conftest import ROOT


def test_overview_page_lists_registries():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    text = " ".join(str(t.value) for t in at.markdown) + " ".join(str(t.value) for t in at.caption)
    assert "SWAP-Score" in text
    assert len(at.dataframe) >= 3
