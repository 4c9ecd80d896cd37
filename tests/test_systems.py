"""Source systems (issue 13): case, petition and supply ids are unique within a mapping's `system:` only; a
load never overwrites another system's records, says when it updates records another mapping file of the
same system wrote, and analytics treat the system as a dimension (Scope.system, --by system)."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text

from analytics.exports import run_export
from analytics.scope import Scope
from etl import schema as S
from etl.load import list_batches, load_mapping
from etl.mapping import read_mapping
from etl.undo import undo_batch
from etl_helpers import table, write_mapping
from landdesk.errors import LandDeskError

ROOT = Path(__file__).resolve().parent.parent
REALDATA = Path(os.environ.get("LANDDESK_REALDATA", ROOT.parent / "shared" / "realdata"))
EVENTS = {"dataset": "case_events", "columns": {"case_id": "case", "stage": "activity", "completed_at": "time"}}
# two municipalities number their cases alike: C1 and C2 occur in both logs
NORTH = ("C1,Receive,2024-03-01 09:00\nC1,Review,2024-03-04 09:00\nC1,Decide,2024-03-05 09:00\n"
         "C2,Receive,2024-03-01 10:00\nC2,Decide,2024-03-06 10:00\n")
SOUTH = ("C1,Receive,2024-03-02 09:00\nC1,Decide,2024-03-03 09:00\n"
         "C2,Receive,2024-03-02 10:00\nC2,Check,2024-03-04 10:00\nC2,Decide,2024-03-08 10:00\n"
         "C3,Receive,2024-03-05 09:00\n")
MARCH = Scope(dt.date(2024, 3, 1), dt.date(2024, 3, 31))


def _events(tmp_path, name: str, rows: str, **extra) -> Path:
    src = tmp_path / f"{name}.csv"
    src.write_text("case,activity,time\n" + rows, encoding="utf-8")
    return write_mapping(tmp_path, f"{name}.yaml", {**EVENTS, "source": {"path": str(src)}, **extra})


def _two_municipalities(engine, tmp_path):
    a = load_mapping(engine, _events(tmp_path, "north", NORTH, system="北区审批"))
    b = load_mapping(engine, _events(tmp_path, "south", SOUTH, system="南区审批"))
    assert (a.status, b.status) == ("loaded", "loaded")
    return a, b


def test_colliding_case_ids_of_two_systems_are_two_cases_with_their_own_events(engine, tmp_path):
    a, b = _two_municipalities(engine, tmp_path)
    cases = table(engine, "cases", "system,case_id")
    assert list(zip(cases["system"], cases["case_id"])) == [
        ("北区审批", "C1"), ("北区审批", "C2"), ("南区审批", "C1"), ("南区审批", "C2"), ("南区审批", "C3")]
    events = table(engine, "case_events", "system,case_id,seq")
    north = events[events["system"] == "北区审批"]
    assert list(north["stage"]) == ["Receive", "Review", "Decide", "Receive", "Decide"]
    assert len(events) == 11
    closed = cases.set_index(["system", "case_id"])["closed_at"]
    # stored as UTC instants: 09:00 in Asia/Shanghai is 01:00 UTC
    assert closed[("北区审批", "C1")] == dt.datetime(2024, 3, 5, 1) and closed[("南区审批", "C1")] == dt.datetime(2024, 3, 3, 1)
    # the second load reports nothing updated: it wrote its own system's records only
    batches = list_batches(engine).set_index("batch_id")
    assert batches.loc[b.batch_id, "rows_updated"] == 0 and batches.loc[b.batch_id, "system"] == "南区审批"
    # a newer export of one system replaces that system's events only
    again = load_mapping(engine, _events(tmp_path, "north2", "C1,Receive,2024-03-01 09:00\nC1,Decide,2024-03-02 09:00\n",
                                         system="北区审批"))
    events = table(engine, "case_events", "system,case_id,seq")
    assert list(events.loc[(events["system"] == "北区审批") & (events["case_id"] == "C1"), "stage"]) == ["Receive", "Decide"]
    assert list(events.loc[(events["system"] == "南区审批") & (events["case_id"] == "C1"), "stage"]) == ["Receive", "Decide"]
    assert len(events[events["system"] == "南区审批"]) == 6
    assert again.status == "loaded"


def test_a_mapping_without_system_loads_into_the_shared_default(sqlite_engine, tmp_path):
    path = _events(tmp_path, "plain", NORTH)
    assert read_mapping(path).system == S.DEFAULT_SYSTEM == "default"
    load_mapping(sqlite_engine, path)
    load_mapping(sqlite_engine, _events(tmp_path, "plain2", SOUTH))     # same (default) system: same cases
    assert set(table(sqlite_engine, "cases")["system"]) == {"default"}
    assert len(table(sqlite_engine, "cases")) == 3


def test_update_of_another_mapping_files_records_is_reported(engine, tmp_path):
    src = tmp_path / "approval_cases.csv"
    src.write_text("id,type,received,closed\n"
                   + "".join(f"A{i},登记,2024-03-01 09:00,2024-03-0{2 + i % 5} 17:00\n" for i in range(12))
                   + "B1,登记,2024-03-01 09:00,\n", encoding="utf-8")
    cases_map = write_mapping(tmp_path, "approval_cases.yaml", {
        "dataset": "cases", "system": "审批系统", "source": {"path": str(src)},
        "columns": {"case_id": "id", "case_type": "type", "received_at": "received", "closed_at": "closed"}})
    load_mapping(engine, cases_map)
    rows = "".join(f"A{i},Receive,2024-03-01 09:00\nA{i},Decide,2024-03-02 09:00\n" for i in range(12))
    other_system = load_mapping(engine, _events(tmp_path, "registry_events", rows, system="不动产登记"))
    assert other_system.from_other_mappings == {} and "first loaded by" not in other_system.summary()
    same = load_mapping(engine, _events(tmp_path, "approval_events", rows + "N1,Receive,2024-03-03 09:00\n",
                                        system="审批系统"))
    assert same.from_other_mappings == {"approval_cases.yaml": 12}
    assert same.summary().endswith("; 12 cases first loaded by approval_cases.yaml updated")
    message = list_batches(engine).set_index("batch_id").loc[same.batch_id, "message"]
    assert "12 cases first loaded by approval_cases.yaml updated" in message
    # reloading the same mapping file is not "another mapping's" update
    src2 = tmp_path / "approval_events.csv"
    src2.write_text(src2.read_text(encoding="utf-8") + "N2,Receive,2024-03-04 09:00\n", encoding="utf-8")
    again = load_mapping(engine, tmp_path / "approval_events.yaml")
    assert again.from_other_mappings == {"approval_cases.yaml": 12}     # the export still owns its cases
    # the CLI prints it
    later = _events(tmp_path, "approval_events_b", rows.replace("09:00", "10:00"), system="审批系统")
    r = subprocess.run([sys.executable, "-m", "cli.main", "etl", "load", str(later), "--quiet",
                        "--db", engine.url.render_as_string(hide_password=False)],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "; 12 cases first loaded by approval_cases.yaml updated" in r.stdout


def test_petitions_and_supply_ids_are_per_system(engine, tmp_path):
    src = tmp_path / "p.csv"
    src.write_text("id,received,topic\nX1,2024-03-01 09:00,征地补偿\nX2,2024-03-02 09:00,宅基地\n", encoding="utf-8")
    doc = {"dataset": "petitions", "source": {"path": str(src)},
           "columns": {"petition_id": "id", "received_at": "received", "topic": "topic"}}
    load_mapping(engine, write_mapping(tmp_path, "p_county.yaml", {**doc, "system": "县信访"}))
    load_mapping(engine, write_mapping(tmp_path, "p_city.yaml", {**doc, "system": "市信访"}))
    assert len(table(engine, "petitions")) == 4
    sup = tmp_path / "s.csv"
    sup.write_text("id,area\nS1,1.5\n", encoding="utf-8")
    sdoc = {"dataset": "land_supply", "source": {"path": str(sup)}, "columns": {"supply_id": "id", "area_ha": "area"}}
    load_mapping(engine, write_mapping(tmp_path, "s1.yaml", {**sdoc, "system": "供地A"}))
    load_mapping(engine, write_mapping(tmp_path, "s2.yaml", {**sdoc, "system": "供地B"}))
    assert sorted(table(engine, "land_supply")["system"]) == ["供地A", "供地B"]


def test_mapping_system_is_checked(tmp_path):
    src = tmp_path / "x.csv"
    src.write_text("case,activity,time\n", encoding="utf-8")
    with pytest.raises(LandDeskError, match="top-level `system:` key, not a column"):
        read_mapping(write_mapping(tmp_path, "a.yaml", {**EVENTS, "source": {"path": str(src)},
                                                        "columns": {**EVENTS["columns"], "system": "sys"}}))
    with pytest.raises(LandDeskError, match="`system` must be the name of a source system"):
        read_mapping(write_mapping(tmp_path, "b.yaml", {**EVENTS, "source": {"path": str(src)}, "system": ""}))
    land = tmp_path / "l.csv"
    land.write_text("r,y,c,a\n", encoding="utf-8")
    with pytest.raises(LandDeskError, match="`system` applies to datasets cases, case_events, petitions, land_supply"):
        read_mapping(write_mapping(tmp_path, "c.yaml", {
            "dataset": "land_use", "system": "调查", "source": {"path": str(land)},
            "columns": {"region_code": "r", "year": "y", "category_code": "c", "area_ha": "a"}}))


def test_undo_keeps_the_other_systems_case_of_the_same_id(engine, tmp_path):
    a, b = _two_municipalities(engine, tmp_path)
    result = undo_batch(engine, b.batch_id)
    assert result.removed["cases"] == 3 and result.removed["case_events"] == 6
    cases = table(engine, "cases", "system,case_id")
    assert list(zip(cases["system"], cases["case_id"])) == [("北区审批", "C1"), ("北区审批", "C2")]
    assert len(table(engine, "case_events")) == 5


def test_analytics_filter_and_break_down_by_system(engine, tmp_path):
    _two_municipalities(engine, tmp_path)
    st = run_export(engine, "stage-times", MARCH).set_index("stage")
    assert st.loc["Receive", "cases"] == 5 and st.loc["Decide", "cases"] == 4      # C1/C2 of each system
    north = run_export(engine, "stage-times", Scope(MARCH.start, MARCH.end, system="北区审批")).set_index("stage")
    assert north.loc["Receive", "cases"] == 2 and "Check" not in north.index
    dfg = run_export(engine, "dfg", MARCH).set_index(["source", "target"])
    assert dfg.loc[("Receive", "Decide"), "count"] == 2       # north C2, south C1: never across systems
    assert dfg.loc[("Check", "Decide"), "count"] == 1
    variants = run_export(engine, "variants", MARCH).set_index("variant")
    assert variants["cases"].sum() == 5 and variants.loc["Receive → Decide", "cases"] == 2
    by = run_export(engine, "case-efficiency", MARCH, by="system").set_index("system")
    assert by.loc["北区审批", "received"] == 2 and by.loc["南区审批", "received"] == 3
    kpis = run_export(engine, "kpis", Scope(MARCH.start, MARCH.end, system="南区审批")).set_index("kpi")
    assert kpis.loc["cases_received", "value"] == 3
    assert run_export(engine, "workload", MARCH, by="system").groupby("system")["events"].sum().to_dict() == \
        {"北区审批": 5, "南区审批": 6}
    warnings = run_export(engine, "warnings", MARCH)        # integrity: colliding ids stay two cases
    assert set(warnings.columns) >= {"system", "case_id"}
    drill = run_export(engine, "cases", MARCH)
    assert sorted(zip(drill["system"], drill["case_id"]))[:2] == [("北区审批", "C1"), ("北区审批", "C2")] and len(drill) == 5


def test_cli_export_system_option(engine, tmp_path):
    _two_municipalities(engine, tmp_path)
    url = engine.url.render_as_string(hide_password=False)
    r = subprocess.run([sys.executable, "-m", "cli.main", "export", "stage-times", "--from", "2024-03-01",
                        "--to", "2024-03-31", "--system", "南区审批", "--format", "json", "--db", url],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    import json
    rows = {row["stage"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {"Receive", "Check", "Decide"} and rows["Receive"]["cases"] == 3
    r = subprocess.run([sys.executable, "-m", "cli.main", "export", "case-efficiency", "--from", "2024-03-01",
                        "--to", "2024-03-31", "--by", "system", "--db", url],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "北区审批" in r.stdout and "南区审批" in r.stdout


def test_migration_0005_keeps_existing_rows_in_the_default_system(engine):
    """Rows written before 0005 (in the revision before it) are the default system's, events and all."""
    from alembic import command
    from etl.store import alembic_config, upgrade
    from alembic.script import ScriptDirectory
    before = ScriptDirectory.from_config(alembic_config(engine)).get_revision("0005").down_revision
    command.downgrade(alembic_config(engine), before)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO cases (case_id, received_at, status) VALUES ('K1', '2024-03-01 09:00:00', 'open')"))
        conn.execute(text("INSERT INTO case_events (case_id, seq, stage, completed_at) "
                          "VALUES ('K1', 1, 'Receive', '2024-03-01 09:00:00'), ('K1', 2, 'Review', '2024-03-02 09:00:00')"))
        conn.execute(text("INSERT INTO petitions (petition_id, received_at) VALUES ('P1', '2024-03-01 09:00:00')"))
    upgrade(engine)
    assert list(table(engine, "cases")["system"]) == ["default"]
    assert list(table(engine, "case_events")["system"]) == ["default", "default"]
    assert list(table(engine, "petitions")["system"]) == ["default"]
    with engine.begin() as conn:        # the same id in another system is another case now
        conn.execute(insert(S.cases).values(system="other", case_id="K1", received_at=dt.datetime(2024, 3, 5), status="open"))
        conn.execute(insert(S.case_events).values(system="other", case_id="K1", seq=1, stage="Receive",
                                                  completed_at=dt.datetime(2024, 3, 5)))
    with pytest.raises(Exception):       # and an event needs a case of its own system
        with engine.begin() as conn:
            conn.execute(insert(S.case_events).values(system="nowhere", case_id="K1", seq=1, stage="Receive",
                                                      completed_at=dt.datetime(2024, 3, 5)))
    with engine.begin() as conn:        # deleting one system's case cascades to its own events only
        conn.execute(S.cases.delete().where(S.cases.c.system == "other"))
        assert conn.execute(select(func.count()).select_from(S.case_events)).scalar_one() == 2


@pytest.mark.skipif(not (REALDATA / "receipt").is_dir(), reason=f"real data not found at {REALDATA}")
def test_receipt_log_loaded_as_two_systems_doubles_the_cases(sqlite_engine, tmp_path):
    import yaml
    shipped = ROOT / "sample_data" / "mappings" / "real" / "receipt.yaml"
    doc = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    assert doc["source"]["path"].startswith("${LANDDESK_REALDATA}/")     # absolute once expanded
    for name in ("gemeente_a", "gemeente_b"):
        r = load_mapping(sqlite_engine, write_mapping(tmp_path, f"{name}.yaml", {**doc, "system": name}))
        assert (r.status, r.cases_derived, r.rows_loaded) == ("loaded", 1434, 8577)
    with sqlite_engine.connect() as conn:
        per = dict(conn.execute(select(S.cases.c.system, func.count()).group_by(S.cases.c.system)).all())
        events = conn.execute(select(func.count()).select_from(S.case_events)).scalar_one()
    assert per == {"gemeente_a": 1434, "gemeente_b": 1434} and events == 2 * 8577


def _page(monkeypatch, engine, params: dict):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("LANDDESK_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("LANDDESK_BRIEFING_DIR", str(ROOT / "tests" / "_no_briefings_here"))
    at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=180)
    for k, v in {"from": "2024-03-01", "to": "2024-03-31", **params}.items():
        at.query_params[k] = v
    at.switch_page(str(ROOT / "pages" / "efficiency.py"))
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_filter_bar_offers_the_system_only_when_the_store_has_several(sqlite_engine, tmp_path, monkeypatch):
    from landdesk.i18n import t
    load_mapping(sqlite_engine, _events(tmp_path, "north", NORTH, system="北区审批"))
    one = _page(monkeypatch, sqlite_engine, {})
    assert t("system", "zh") not in [s.label for s in one.selectbox]
    load_mapping(sqlite_engine, _events(tmp_path, "south", SOUTH, system="南区审批"))
    two = _page(monkeypatch, sqlite_engine, {"system": "南区审批"})
    box = next(s for s in two.selectbox if s.label == t("system", "zh"))
    assert box.options == [t("all_systems", "zh"), "北区审批", "南区审批"] and box.value == "南区审批"
    assert two.query_params["system"] == ["南区审批"] or two.query_params["system"] == "南区审批"


def test_township_scope_still_applies_with_a_system_filter(sqlite_engine, tmp_path):
    from service import results
    from service.auth import Principal
    src = tmp_path / "t.csv"
    src.write_text("case,activity,time,town\nT1,Receive,2024-03-01 09:00,东乡\nT2,Receive,2024-03-01 09:00,西乡\n",
                   encoding="utf-8")
    load_mapping(sqlite_engine, write_mapping(tmp_path, "t.yaml", {
        **EVENTS, "system": "乡镇审批", "source": {"path": str(src)}, "case_columns": {"township": "town"}}))
    officer = Principal(username="o", role="township_officer", township="东乡")
    df = results.read(sqlite_engine, "cases", Scope(MARCH.start, MARCH.end, system="乡镇审批", township="西乡"),
                      principal=officer)
    assert list(df["case_id"]) == ["T1"] and set(df["township"]) == {"东乡"}


def test_tables_show_the_system_column_only_when_rows_come_from_several_systems():
    from streamlit.testing.v1 import AppTest

    def app():
        import pandas as pd

        from dashboard.ui import table
        table(pd.DataFrame({"system": ["default", "default"], "case_id": ["A", "B"]}), "one")
        table(pd.DataFrame({"system": ["北区审批", "南区审批"], "case_id": ["A", "A"]}), "two")
    at = AppTest.from_function(app).run()
    assert not at.exception
    one, two = (list(d.value.columns) for d in at.dataframe)
    assert one == ["case_id"] and two == ["来源系统", "case_id"]
