"""Help on every table column (issue 15): every column of every table each page shows — every page and tab, the
admin pages and the public disclosure page — carries a one-line definition in its header's tooltip, from the one
source (`col_<name>_help` in the catalogues, landdesk.colspec), in Chinese and in English."""
from __future__ import annotations

import json

import pytest

import dashboard.ui as ui
from dashboard.ui import page_views
from landdesk.i18n import t
from test_pages import PAGE_VIEWS, on_sample, run  # noqa: F401

WALK = PAGE_VIEWS + [("audit", None), ("users", None)]


def _unhelped(at) -> list[tuple[str, str]]:
    """(table's first column, column) for each shown column whose header has no help."""
    out = []
    for d in at.dataframe:
        config = json.loads(d.proto.columns) if d.proto.columns else {}
        for col in d.value.columns:
            if not (config.get(str(col)) or {}).get("help"):
                out.append((str(d.value.columns[0]), str(col)))
    return out


def _walk(page: str, view: str | None, lang: str, monkeypatch) -> tuple[list, set]:
    """Run the page in `lang`; returns the unhelped columns and the column names the catalogue lacked."""
    lacked: set[str] = set()
    real = ui.column_help

    def recording(name, lg):
        found = real(name, lg)
        if found is None:
            lacked.add(name)
        return found
    monkeypatch.setattr(ui, "column_help", recording)
    params = {"lang": lang}
    if view:
        params[page_views(page)[0]] = t(view, lang)
    at = run(page, params)
    assert not at.exception, (page, view, lang, [e.message for e in at.exception])
    return _unhelped(at), lacked


@pytest.mark.parametrize("page,view", WALK, ids=[f"{p}-{v or 'page'}" for p, v in WALK])
def test_every_table_column_has_help(on_sample, monkeypatch, page, view):  # noqa: F811
    for lang in ("zh", "en"):
        missing, lacked = _walk(page, view, lang, monkeypatch)
        assert not missing, (page, view, lang, sorted(lacked), missing[:10])


def test_the_public_page_s_columns_have_help(on_sample, monkeypatch):  # noqa: F811
    monkeypatch.setenv("LANDDESK_AUTH", "public")
    for lang in ("zh", "en"):
        missing, lacked = _walk("public", None, lang, monkeypatch)
        assert not missing, (lang, sorted(lacked), missing[:10])


def test_help_is_the_catalogue_s_definition(on_sample):  # noqa: F811
    """The tooltip is the column's `col_<name>_help` text in the page's language, not a generic line."""
    for lang in ("zh", "en"):
        at = run("catalogue", {"lang": lang})
        config = json.loads(at.dataframe[1].proto.columns)
        assert config[t("col_meaning", lang)]["help"] == t("col_meaning_help", lang)
        assert config[t("col_type", lang)]["help"] == t("col_type_help", lang)


def test_every_column_label_has_its_definition():
    """Beyond the walk (tables shown only after a click: drill-downs, rejects, the briefing archive): each column
    label of the catalogues has its one-line definition, in every language."""
    from landdesk.i18n import LANGS, catalogue
    for lang in LANGS:
        cat = catalogue(lang)
        lacking = [k for k in cat if k.startswith("col_") and not k.endswith("_help") and k + "_help" not in cat]
        assert not lacking, (lang, lacking)
        assert all(str(cat[k + "_help"]).strip() and cat[k + "_help"] != cat[k] for k in cat
                   if k.startswith("col_") and not k.endswith("_help")), lang
