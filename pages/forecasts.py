"""预测预警 — forecasts with intervals and their backtest against the seasonal-naive baseline, the backlog
projection, land trajectories, and integrity-risk flags with their reasons (when those modules are installed)."""
import pandas as pd
import streamlit as st

from dashboard import charts, data
from landdesk.fmt import fmt_count, fmt_model
from dashboard.ui import (auto_cols, chart, cols, guidance, lang, page_header, section_failed, series_label, table,
                          text, tr, views)

page = page_header("page_forecasts")
key, status, scope, unit, area_unit = page.key, page.status, page.scope, page.unit, page.area_unit
st.caption(tr("fc_scope_caption", end=scope.end))



def forecasts() -> None:
    """Weekly forecasts with 80 % bands, and their rolling-origin backtest against the seasonal-naive baseline."""
    st.subheader(tr("fc_forecasts"))
    by = st.segmented_control(tr("group_by"), ("total", "case_type", "topic"), key="fc_by", default="total",
                              required=True, format_func=lambda b: tr("fc_by_" + b)) or "total"
    with st.spinner(tr("fc_computing")):
        fc, error = page.try_export("forecast", by=None if by == "total" else by)
    if error:
        section_failed(tr("export_forecast"), error)
    else:
        if fc.empty:
            guidance("fc_too_short")
        else:
            series = list(dict.fromkeys(fc["unique_id"]))

            name = st.selectbox(tr("fc_series"), series, key=f"fc_series_{by}", format_func=series_label)
            one = fc[fc["unique_id"] == name]
            hist, ahead = one[one["kind"] == "history"].tail(52), one[one["kind"] == "forecast"]
            rep = one.iloc[0]
            measure = tr("fc_measure_" + str(rep["measure"]))
            better = rep["mase"] < rep["snaive_mase"]
            cards = [("fc_next", f"{fmt_count(round(ahead['yhat'].iloc[0]))}" if len(ahead) else "—"),
                     ("fc_mase", f"{rep['mase']:.2f}"), ("fc_snaive_mase", f"{rep['snaive_mase']:.2f}"),
                     ("fc_coverage_80", f"{rep['coverage_80'] * 100:.0f}%")]
            for col, (label, value) in zip(st.columns(4), cards):
                with col, st.container(border=True):
                    st.metric(tr(label), value, help=tr(label + "_help"))
            fig = charts.forecast(hist, ahead, tr("fc_chart", measure=measure, n=len(ahead)), tr("week"),
                                  f"{measure} ({tr('unit_items')})",
                                  {"actual": tr("fc_actual"), "forecast": tr("fc_forecast"), "band": tr("fc_band_80")})
            st.markdown(f"**{tr('fc_model')}** {text(fmt_model(rep['model'], lang()))}",
                        help=tr("fc_model_help", technical=rep["model"]))
            chart(fig, tr("fc_chart_help", model=fmt_model(rep["model"], lang()),
                          verdict=tr("fc_better" if better else "fc_worse")), key="fc_chart")
            backtest, error = page.try_export("forecast-backtest", by=None if by == "total" else by)
            st.markdown(f"**{tr('fc_backtest')}**")
            if error:
                section_failed(tr("fc_backtest"), error)
            else:
                table(backtest, "forecast-backtest", cols("unique_id", "model", "mase", "snaive_mase", "coverage_80",
                                                          "coverage_95", "beats_baseline"))
            table(ahead.drop(columns=["y", "kind"]), "forecast", auto_cols(ahead))


def backlog() -> None:
    """Open cases projected forward with a 95 % band, and the overdue cases at risk."""
    st.subheader(tr("fc_backlog"))
    proj, error = page.try_export("backlog-projection")
    if error:
        section_failed(tr("export_backlog-projection"), error)
    else:
        if proj.empty:
            guidance("fc_too_short")
        else:
            r = proj.iloc[0]
            cards = [("fc_backlog_now", fmt_count(r["backlog_now"])),
                     ("fc_backlog_end", fmt_count(round(proj["backlog"].iloc[-1]))),
                     ("fc_overdue_now", fmt_count(r["overdue_now"])),
                     ("fc_overdue_risk", fmt_count(round(proj["overdue_at_risk"].iloc[-1])))]
            for col, (label, value) in zip(st.columns(4), cards):
                with col, st.container(border=True):
                    st.metric(tr(label), value)
            if bool(proj["backlog_rising"].any()) or bool(proj["overdue_rising"].any()):
                st.warning(tr("fc_rising"), icon=":material/trending_up:")
            band = proj.rename(columns={"week": "ds", "backlog": "yhat", "backlog_lower_95": "lo",
                                        "backlog_upper_95": "hi"})
            fig = charts.forecast(pd.DataFrame({"ds": [], "y": []}), band, tr("fc_chart_backlog", n=len(proj)),
                                  tr("week"), f"{tr('kpi_backlog')} ({tr('unit_cases')})",
                                  {"actual": tr("fc_actual"), "forecast": tr("fc_backlog_line"),
                                   "band": tr("fc_band_95")}, lower="lo", upper="hi")
            fig.add_bar(x=proj["week"], y=proj["overdue_at_risk"], name=tr("fc_overdue_risk"), opacity=0.5)
            chart(fig, tr("fc_chart_backlog_help"), key="fc_backlog")
            table(proj, "backlog-projection", auto_cols(proj))


def land_trajectory() -> None:
    """Cultivated land per region projected with its 80 % band against the target."""
    st.subheader(tr("fc_land"))
    traj, error = page.try_export("land-trajectory")
    if error:
        section_failed(tr("export_land-trajectory"), error)
    else:
        cult = traj[traj["measure"] == "cultivated"] if not traj.empty else traj
        if cult.empty:
            guidance("no_land_loaded")
        else:
            regions = [None] + list(dict.fromkeys(cult["region_name"].dropna()))
            default = scope.township if scope.township in regions else None
            region = st.selectbox(tr("land_region"), regions, index=regions.index(default), key="fc_land_region",
                                  format_func=lambda n: n or tr("all_townships"))
            one = cult[cult["region_name"].isna()] if region is None else cult[cult["region_name"] == region]
            hist = one[one["kind"] == "history"].rename(columns={"year": "ds", "area_ha": "y"})
            ahead = one[one["kind"] == "projection"].rename(columns={"year": "ds", "fit": "yhat"})
            fig = charts.forecast(hist, ahead, tr("fc_chart_land", place=region or tr("all_townships")), tr("col_year"),
                                  f"{tr('kpi_cultivated_land_ha')} ({tr('unit_ha')})",
                                  {"actual": tr("land_actual"), "forecast": tr("land_projection"),
                                   "band": tr("fc_band_80")},
                                  lower="lower_80", upper="upper_80")
            target = one["target_ha"].dropna()
            if len(target):
                fig.add_hline(y=float(target.iloc[0]), line_dash="dash", line_color="#d62728",
                              annotation_text=tr("land_target"))
            chart(fig, tr("fc_chart_land_help"), key="fc_land")


def warnings() -> None:
    """Integrity-risk flags with their reasons, and handlers whose share of flagged cases stands out."""
    st.subheader(tr("fc_warnings"))
    for name in ("warnings", "handler-risk"):
        df, error = page.try_export(name)
        if error:
            section_failed(tr("export_" + name), error)
            continue
        st.markdown(f"**{tr('export_' + name)}**")
        if df.empty:
            guidance("fc_no_flags")
            continue
        other = "reason_en" if lang() == "zh" else "reason_zh"
        df = df.drop(columns=[other], errors="ignore")
        if "rules" in df:
            sep = "、" if lang() == "zh" else ", "
            df = df.assign(rules=[sep.join(tr("integrity_rule_" + c) for c in str(s).split(",") if c)
                                  for s in df["rules"]])
        table(df, name, auto_cols(df), height=300)


views("forecasts", [("fc_tab_forecasts", forecasts), ("fc_tab_backlog", backlog),
                   ("fc_tab_land", land_trajectory), ("fc_tab_warnings", warnings)])
