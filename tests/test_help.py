"""Help on every number (issue 15): each KPI card's tooltip is its definition from landdesk.kpispec, the tables'
columns carry their definitions, and the forecasts page names its model in plain words with the technical name in
the help — in both languages."""
import pytest

from landdesk.fmt import fmt_model
from landdesk.kpispec import KPI_SPEC, kpi_help
from landdesk.i18n import t
from test_pages import on_sample, run  # noqa: F401


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_kpi_cards_explain_themselves(on_sample, lang):  # noqa: F811
    at = run("cockpit", {"lang": lang})
    assert not at.exception
    helps = {m.label: m.proto.help for m in at.metric}
    for code in KPI_SPEC:
        assert helps[t("kpi_" + code, lang)] == kpi_help(code, lang), code
    # the bottleneck and overdue tables carry their columns' definitions
    import json
    configs = [json.loads(d.proto.columns) for d in at.dataframe]
    helped = [c.get("help") for cfg in configs for c in cfg.values() if c.get("help")]
    assert t("col_age_help", lang) in helped and t("col_days_left_help", lang) in helped


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_forecast_model_in_plain_words(on_sample, lang):  # noqa: F811
    at = run("forecasts", {"lang": lang})
    assert not at.exception
    label = next(m for m in at.markdown if m.value.startswith(f"**{t('fc_model', lang)}**"))
    shown = label.value.split("** ", 1)[1]
    assert "(" not in shown and "Ensemble" not in shown, shown
    import re
    from dashboard.ui import text
    technical = re.search(r"(?:技术名称|Technical name) (.+?)(?:。|\. Chosen)", label.proto.help).group(1)
    assert shown == text(fmt_model(technical, lang)) and shown != text(technical)
    assert "MASE" in label.proto.help
    backtest = next(d.value for d in at.dataframe if t("col_mase", lang) in d.value.columns)
    assert all("(" not in m for m in backtest[t("col_model", lang)]), backtest[t("col_model", lang)].tolist()
