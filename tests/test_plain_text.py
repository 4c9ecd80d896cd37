"""No raw text on any page (issue 15): every page and every tab, in Chinese and in English, on the sample store,
shows no `nan`, `None`, `NaT` or `inf`, no catalogue key (`trend_`), no code of a coded column (`online`,
`closed`) and no exception; no table sends an empty cell to the grid (which would draw it as "None")."""
from __future__ import annotations

import pandas as pd
import pytest

from dashboard.ui import CODED, page_views
from landdesk.i18n import t
from plain_text import raw_cells, raw_tokens
from test_pages import PAGE_VIEWS, open_view, run  # noqa: F401  (fixture on_sample below)
from test_pages import on_sample  # noqa: F401


def visible_texts(at) -> list[str]:
    """Every text AppTest can see on the page: headings, Markdown, notices, KPI labels, values and help, tab
    labels and the column names of the tables."""
    out = [e.value for kind in ("title", "header", "subheader", "caption", "markdown", "info", "warning",
                                "success", "error") for e in at.get(kind) if isinstance(getattr(e, "value", None), str)]
    for m in at.metric:
        out += [m.label, m.value, m.proto.help]
    out += [tab.label for tab in at.tabs]
    for d in at.dataframe:
        out += [str(c) for c in d.value.columns]
    return [s for s in out if s]


@pytest.mark.parametrize("page,view", PAGE_VIEWS, ids=[f"{p}-{v or 'page'}" for p, v in PAGE_VIEWS])
def test_no_raw_text_on_any_page_or_tab(on_sample, page, view):  # noqa: F811
    for lang in ("zh", "en"):
        params = {"lang": lang}
        if view:
            params[page_views(page)[0]] = t(view, lang)
        at = run(page, params)
        assert not at.exception, (lang, [e.message for e in at.exception])
        bad = [(s[:120], raw_tokens(s, lang)) for s in visible_texts(at) if raw_tokens(s, lang)]
        assert not bad, (page, view, lang, bad)
        for d in at.dataframe:
            df: pd.DataFrame = d.value
            for col in df.columns:
                s = df[col]
                if pd.api.types.is_bool_dtype(s):
                    continue
                assert not s.isna().any(), (page, view, lang, col, "an empty cell reaches the grid as None")
                if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
                    assert not raw_cells(s.tolist(), lang), (page, view, lang, col, raw_cells(s.tolist(), lang)[:5])


def test_coded_columns_cover_the_stores_code_lists():
    """Every code of a coded column of the store has a label in every language (so none is ever shown raw)."""
    from etl.validate import CODE_LISTS
    from landdesk.i18n import LANGS, catalogue
    for (_, column), codes in CODE_LISTS.items():
        assert column in CODED, column
        for code in codes:
            for lang in LANGS:
                assert any(p + code in catalogue(lang) for p in CODED[column]), (column, code, lang)
