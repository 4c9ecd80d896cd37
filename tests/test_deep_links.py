"""Deep links (issue 15): the open tab is named in the URL by a stable ASCII id (the same in every language),
old links naming a label still open their tab and are rewritten to the id, an unknown tab gets the url_corrected
notice; the tab parser is pure (dashboard/params.py)."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import params
from dashboard.ui import page_views
from landdesk.i18n import LANGS, t
from landdesk.pages import PAGES

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")
TABBED = [p for p in PAGES if page_views(p)[0]]


def test_every_tab_has_a_stable_ascii_id_unique_in_its_page():
    for page in TABBED:
        _, names = page_views(page)
        ids = [params.tab_id(n) for n in names]
        assert all(i.isascii() and i.replace("_", "").isalnum() and i == i.lower() for i in ids), ids
        assert len(set(ids)) == len(ids)
    assert params.tab_id("bn_tab_map") == "map"


def test_parse_tab_reads_ids_keys_and_labels_of_any_language():
    _, names = page_views("bottlenecks")
    labels = {n: [t(n, code) for code in LANGS] for n in names}
    assert params.parse_tab("map", names, labels) == "bn_tab_map"
    assert params.parse_tab("bn_tab_map", names, labels) == "bn_tab_map"
    assert params.parse_tab(t("bn_tab_map", "zh"), names, labels) == "bn_tab_map"       # an old zh link
    assert params.parse_tab(t("bn_tab_map", "en"), names, labels) == "bn_tab_map"       # an old en link
    assert params.parse_tab(" map ", names, labels) == "bn_tab_map"
    for unknown in ("nope", "", "MAP2", "<script>", None):
        assert params.parse_tab(unknown, names, labels) is None


@pytest.fixture
def on_sample(sample_store_url, monkeypatch):
    monkeypatch.setenv("LANDDESK_DATABASE_URL", sample_store_url)
    monkeypatch.setenv("LANDDESK_AUTH", "none")
    monkeypatch.setenv("LANDDESK_BRIEFING_DIR", str(ROOT / "tests" / "_no_briefings_here"))


def _run(page: str, query: dict) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=180)
    for k, v in {"from": "2026-08-01", "to": "2026-10-31", **query}.items():
        at.query_params[k] = v
    at.switch_page(str(ROOT / "pages" / f"{page}.py"))
    at.run()
    return at


def _open_tab(at) -> str:
    drawn = [tab.label for tab in at.tabs if len(tab.children)]
    assert len(drawn) == 1, drawn
    return drawn[0]


@pytest.mark.parametrize("asked", ["variants", t("bn_tab_variants", "zh"), t("bn_tab_variants", "en")])
def test_a_link_opens_its_tab_and_the_url_carries_the_ascii_id(on_sample, asked):
    at = _run("bottlenecks", {"bn_view": asked})
    assert not at.exception, [e.message for e in at.exception]
    assert _open_tab(at) == t("bn_tab_variants", "zh")
    assert at.query_params["bn_view"] == "variants"             # an old label link is rewritten to the id
    assert not [w for w in at.warning if "bn_view" in w.value]      # known tabs need no notice
    at.sidebar.radio[0].set_value("en").run()                     # the language changes: same tab, same id
    assert not at.exception
    assert _open_tab(at) == t("bn_tab_variants", "en") and at.query_params["bn_view"] == "variants"


def test_an_unknown_tab_is_noticed_and_the_first_tab_opens(on_sample):
    at = _run("petitions", {"pet_view": "no-such-tab"})
    assert not at.exception
    assert _open_tab(at) == t("pet_tab_volume", "zh")
    assert any("no-such-tab" in w.value for w in at.warning)
    assert at.query_params["pet_view"] == "volume"
