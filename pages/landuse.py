"""国土空间 — land use: composition by GB/T 21010 class per township and year, change and dynamic degree,
the transfer matrix, cultivated land against its target with its projection, supply by purpose and method,
批而未供 and idle land. Areas in 公顷 or 亩."""
import streamlit as st

from analytics.landuse import change_years
from dashboard import charts, data, maps
from landdesk.fmt import MU_PER_HA, fmt_count
from dashboard.ui import (area, chart, cols, guidance, lang, page_header, range_select, table, tr, tr_data,
                          views)

page = page_header("page_landuse", areas=True)
key, status, scope, area_unit = page.key, page.status, page.scope, page.area_unit
factor = MU_PER_HA if area_unit == "mu" else 1.0
au = tr("unit_" + area_unit)
name_col = "category_zh" if lang() == "zh" else "category_en"
place = scope.township or tr("all_townships")
rows = data.dataset_rows(key)


def scaled(df, *columns):
    """A copy with the area columns in the chosen unit (exports are in hectares)."""
    return df.assign(**{c: df[c] * factor for c in columns if c in df})


if rows["land_use"]:           # the years and the cultivated-land cards above the tabs; guidance in them
    years = data.land_years(key, scope.township)
    default = change_years(scope, years)
    a, b = range_select(tr("land_years"), years, default, key="land_years")
    if a is None:                      # land-use rows, but none for this township: the tabs say so
        a = b = scope.end.year
    lscope = data.land_scope(scope, a, b)
    st.caption(tr_data("land_scope_caption", place=place, a=a, b=b))

    target = page.export("cultivated-target")
    region = target[target["region_name"] == scope.township] if scope.township else target[target["level"] == "county"]
    if len(region):
        r = region.iloc[0]
        cross = r["projected_cross_year"]
        cards = [(tr("land_cultivated_year", year=int(r["latest_year"])), area(r["area_ha"], area_unit)),
                 (tr("land_target"), area(r["target_ha"], area_unit)), (tr("land_gap"), area(r["gap_ha"], area_unit)),
                 (tr("land_cross_year"), "—" if str(cross) in ("<NA>", "nan", "None") else str(int(cross)))]
        for col, (label, value) in zip(st.columns(4), cards):
            with col, st.container(border=True):
                st.metric(label, value, help=tr("land_status_" + str(r["status"])))


def composition() -> None:
    """Areas by GB/T 21010 class for the chosen years, and per township in the latest year."""
    if not rows["land_use"]:
        guidance("no_land_loaded")
        return
    st.subheader(tr("land_composition"))
    comp = scaled(page.export("land-use", scope=lscope), "area_ha")
    if comp.empty:
        guidance("no_land_period")
    else:
        latest = comp[comp["year"] == comp["year"].max()].sort_values("area_ha", ascending=False)
        left, right = st.columns(2)
        with left:
            fig = charts.bar(latest, name_col, "area_ha", tr("land_chart_composition", place=place,
                                                             year=int(latest["year"].iloc[0])),
                             tr("land_class"), f"{tr('col_area')} ({au})", horizontal=True, height=420)
            chart(fig, tr("land_chart_composition_help"), key="land_comp")
        with right:
            fig = charts.stacked_share(comp.sort_values(["year", "category_code"]), "year", name_col, "area_ha",
                                       tr("land_chart_years", place=place), tr("col_year"), f"{tr('col_area')} ({au})",
                                       height=420, horizontal=False)
            chart(fig, tr("land_chart_years_help"), key="land_years_chart")
        if not scope.township:
            towns = scaled(page.export("land-use", by="township", scope=lscope), "area_ha")
            towns = towns[towns["year"] == towns["year"].max()].sort_values(["region_code", "category_code"])
            fig = charts.stacked_share(towns, "region_name", name_col, "area_ha",
                                       tr("land_chart_townships", year=int(towns["year"].max())), tr("township"),
                                       f"{tr('col_area')} ({au})", height=460)
            chart(fig, tr("land_chart_townships_help"), key="land_towns")
        table(comp.assign(share=comp["share"].round(4)), "land-use",
              cols("year", "category_code", "category_zh", "category_en", "area_ha", "share") |
              {"area_ha": f"{tr('col_area')} ({au})"})


def change() -> None:
    """Net change and dynamic degree per class between the two years, and the transfer matrix."""
    if not rows["land_use"]:
        guidance("no_land_loaded")
        return
    st.subheader(tr("land_change"))
    change = scaled(page.export("land-change", scope=lscope), "area_a", "area_b", "net_change")
    if change.empty or change["year_a"].iloc[0] == change["year_b"].iloc[0]:
        guidance("land_one_year")
    else:
        ya, yb = int(change["year_a"].iloc[0]), int(change["year_b"].iloc[0])
        left, right = st.columns(2)
        with left:
            fig = charts.bar(change, name_col, "net_change", tr("land_chart_change", a=ya, b=yb, place=place),
                             tr("land_class"), f"{tr('col_net_change')} ({au})", horizontal=True,
                             color=charts.PALETTE[1], height=400)
            chart(fig, tr("land_chart_change_help"), key="land_change")
        with right:
            fig = charts.bar(change, name_col, "dynamic_degree_pct", tr("land_chart_dynamic", a=ya, b=yb),
                             tr("land_class"), tr("col_dynamic_degree_pct"), horizontal=True,
                             color=charts.PALETTE[4], height=400)
            chart(fig, tr("land_chart_dynamic_help"), key="land_dynamic")
        maps.cultivated_change_map(page, lscope)
        table(change, "land-change", cols("category_code", "category_zh", "category_en", "year_a", "year_b", "area_a",
                                          "area_b", "net_change", "change_pct", "dynamic_degree_pct") |
              {c: f"{tr('col_' + c)} ({au})" for c in ("area_a", "area_b", "net_change")})

    st.subheader(tr("land_transfer"))
    transfer = page.export("transfer-matrix", scope=lscope)
    moved = transfer[transfer["from_code"] != transfer["to_code"]] if not transfer.empty else transfer
    if moved.empty:
        guidance("land_no_transfer")
    else:
        moved = scaled(moved, "area_ha")
        ta, tb = int(transfer["year_a"].iloc[0]), int(transfer["year_b"].iloc[0])     # the parcels' survey years
        fig = charts.sankey(moved, "from_zh" if lang() == "zh" else "from_en", "to_zh" if lang() == "zh" else "to_en",
                            "area_ha", tr("land_chart_transfer", a=ta, b=tb), f"{tr('col_area')} ({au})",
                            suffix_source=f" ({ta})", suffix_target=f" ({tb})")
        chart(fig, tr("land_chart_transfer_help"), key="land_transfer")
        table(transfer, "transfer-matrix", cols("year_a", "year_b", "from_code", "from_zh", "from_en", "to_code", "to_zh", "to_en",
                                                "area_ha", "parcels"))


def cultivated() -> None:
    """Cultivated land against its protection target, with the trend projected to the target."""
    if not rows["land_use"]:
        guidance("no_land_loaded")
        return
    st.subheader(tr("land_cultivated"))
    series = page.export("cultivated-series")
    regions = [None] + [n for n in target["region_name"].dropna().unique()]
    default_region = scope.township if scope.township in regions else None
    chosen = st.selectbox(tr("land_region"), regions, index=regions.index(default_region), key="land_region",
                          format_func=lambda n: n or tr("all_townships"))
    sel = series[series["region_name"] == chosen] if chosen else series[series["level"] == "county"]
    trow = target[target["region_name"] == chosen] if chosen else target[target["level"] == "county"]
    if sel.empty:
        guidance("no_land_period")
    else:
        t = trow.iloc[0] if len(trow) else None
        cross = None if t is None or str(t["projected_cross_year"]) in ("<NA>", "nan", "None") \
            else int(t["projected_cross_year"])
        until = max(int(sel["year"].max()) + 5, cross or 0)
        fig = charts.target_series(scaled(sel.sort_values("year"), "area_ha"), "year", "area_ha",
                                   None if t is None else t["target_ha"] * factor,
                                   tr("land_chart_cultivated", place=chosen or tr("all_townships")), tr("col_year"),
                                   f"{tr('kpi_cultivated_land_ha')} ({au})",
                                   {"actual": tr("land_actual"), "projection": tr("land_projection"),
                                    "target": tr("land_target")},
                                   slope=None if t is None else t["slope_ha_per_year"] * factor, until=until,
                                   height=380)
        chart(fig, tr("land_chart_cultivated_help"), key="land_cultivated")
    maps.cultivated_target_map(page, target)
    shown = scaled(target, "area_ha", "target_ha", "gap_ha", "slope_ha_per_year")
    shown = shown.assign(region_name=shown["region_name"].fillna(tr("all_townships")),
                         status=[tr("land_status_" + str(s)) for s in shown["status"]])
    table(shown, "cultivated-target", cols("level", "region_code", "region_name", "latest_year", "area_ha", "target_ha",
                                           "gap_ha", "gap_pct", "slope_ha_per_year", "trend_years",
                                           "projected_cross_year", "years_to_cross", "status") |
          {c: f"{tr(key)} ({au})" for c, key in (("area_ha", "col_area"), ("target_ha", "col_target_ha"),
                                                 ("gap_ha", "col_gap_ha"))})


def supply() -> None:
    """Land supplied in the period by purpose and method, land approved but not supplied (批而未供) and idle land."""
    st.subheader(tr("land_supply"))
    if not rows["land_supply"]:
        guidance("no_supply_loaded")
        return
    st.caption(tr_data("land_supply_caption", start=scope.start, end=scope.end, place=place))
    left, right = st.columns(2)
    for dim, box in (("purpose", left), ("method", right)):
        df = scaled(page.export("land-supply", by=dim), "area_ha")
        with box:
            if df.empty:
                guidance("land_no_supply_period")
                continue
            fig = charts.bar(df.sort_values("area_ha", ascending=False), dim, "area_ha",
                             tr("land_chart_supply", dim=tr("col_" + dim)), tr("col_" + dim),
                             f"{tr('col_area')} ({au})", horizontal=True, color=charts.PALETTE[5], height=320)
            chart(fig, tr("land_chart_supply_help"), key=f"land_supply_{dim}")
            table(df, f"land-supply-{dim}", cols(dim, "parcels", "area_ha", "price", "priced_area_ha", "price_per_ha") |
                  {"area_ha": f"{tr('col_area')} ({au})"})

    st.subheader(tr("land_unsupplied"))
    unsupplied = scaled(page.export("unsupplied"), "area_ha")
    if unsupplied.empty:
        guidance("land_none_unsupplied")
    else:
        st.metric(tr("land_unsupplied_total"), f"{fmt_count(round(unsupplied['area_ha'].sum(), 1))} {au}")
        fig = charts.bar(unsupplied.sort_values("area_ha", ascending=False), "region_name", "area_ha",
                         tr("land_chart_unsupplied", end=scope.end), tr("township"), f"{tr('col_area')} ({au})",
                         color=charts.PALETTE[6], height=340)
        chart(fig, tr("land_chart_unsupplied_help"), key="land_unsupplied")
        maps.area_map(page, unsupplied, "map_unsupplied", f"{tr('col_area')} ({au})", "map_unsupplied", factor=1.0, end=scope.end)
        table(unsupplied, "unsupplied", cols("region_code", "region_name", "parcels", "area_ha", "mean_age_years",
                                             "max_age_years", "oldest_approved_at")
              | {"area_ha": f"{tr('col_area')} ({au})"})
    st.subheader(tr("land_idle"))
    idle = scaled(page.export("idle-land"), "area_ha")
    if idle.empty:
        guidance("land_none_idle")
    else:
        maps.area_map(page, idle, "map_idle", f"{tr('col_area')} ({au})", "map_idle", factor=1.0, end=scope.end)
        st.caption(tr("land_idle_caption", n=len(idle), area=f"{fmt_count(round(idle['area_ha'].sum(), 1))} {au}"))
        table(idle, "idle-land", cols("supply_id", "region_code", "region_name", "purpose", "method", "area_ha",
                                      "supplied_at", "agreed_start", "actual_start", "idle_since",
                                      "days_past_agreed_start") | {"area_ha": f"{tr('col_area')} ({au})"})


views("landuse", [("land_tab_composition", composition), ("land_tab_change", change),
                 ("land_tab_cultivated", cultivated), ("land_tab_supply", supply)])
