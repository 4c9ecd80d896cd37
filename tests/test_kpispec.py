"""The KPI specification is the one source of each KPI's definition (issue 15): docs/kpis.md's KPI table is the one
built from it, every KPI has a definition in every language, and the help line names its unit and source tables."""
from pathlib import Path

import pytest

from landdesk.fmt import fmt_model
from landdesk.i18n import LANGS, catalogue, t
from landdesk.kpispec import KPI_SPEC, docs_table, kpi_help

ROOT = Path(__file__).resolve().parents[1]


def test_docs_kpi_table_is_the_one_built_from_the_specification():
    doc = (ROOT / "docs" / "kpis.md").read_text(encoding="utf-8")
    begin, end = doc.index("<!-- kpispec:begin"), doc.index("<!-- kpispec:end -->")
    table = doc[doc.index("\n", begin) + 1:end].strip()
    assert table == docs_table(), "docs/kpis.md's KPI table differs from landdesk/kpispec.py: regenerate it"
    for code in KPI_SPEC:
        assert f"| `{code}` |" in table


@pytest.mark.parametrize("lang", LANGS)
def test_every_kpi_has_a_help_line_with_definition_unit_and_sources(lang):
    from etl.schema import DATASETS
    for code, k in KPI_SPEC.items():
        assert catalogue(lang).get("kpidef_" + code), (lang, code)
        assert set(k.sources) <= set(DATASETS), code
        line = kpi_help(code, lang)
        assert t("kpidef_" + code, lang) in line
        assert all(t("dataset_" + s, lang) in line for s in k.sources)


@pytest.mark.parametrize("label,zh,en", [
    ("Ensemble(Theta+ETS(A,N,M))", "Theta + 季节性指数平滑组合", "Theta + seasonal exponential smoothing blend"),
    ("ARIMA(0,1,1)+drift", "ARIMA 带漂移", "ARIMA with drift"),
    ("Ensemble(Theta+ETS(A,N,N))+SpringFestival", "Theta + 指数平滑组合（含春节调整）",
     "Theta + exponential smoothing blend, adjusted for the Spring Festival"),
    ("SeasonalNaive", "重复去年同期", "same week last year"),
    ("Ensemble(ARIMA(0,1,1)+drift+ETS(A,Ad,N))", "ARIMA 带漂移 + 阻尼趋势指数平滑组合",
     "ARIMA with drift + damped-trend exponential smoothing blend"),
])
def test_model_names_in_plain_words(label, zh, en):
    assert fmt_model(label, "zh") == zh
    assert fmt_model(label, "en") == en
    assert "(" not in fmt_model(label, "zh")
