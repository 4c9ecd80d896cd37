"""Alerts (issue 17): the pure rules (analytics/alerts.py) on hand-made frames, the rules file's one-sentence
errors, and on a copy of the sample county store: evaluation as of the data's last day, deduplication in the
store (sent once, re-sent only on a change, resolved when it clears), delivery to a real loopback robot receiver
and SMTP server, `landdesk alerts check`, and the cockpit's alert panel (AppTest)."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert, select, text, update

from analytics import alerts as A
from delivery.alerts import check, evaluate, message, recent_alerts, sync
from delivery.config import parse_config
from delivery.history import history
from etl.schema import alerts as alerts_table, etl_batches
from etl.store import make_engine
from landdesk.errors import LandDeskError
from test_delivery import _fast_retries, robot_server, smtp_server  # noqa: F401  (fixtures)

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")
DATA_RULES = [{"rule": "case_due", "within_days": 3}, {"rule": "petition_due", "within_days": 5},
              {"rule": "on_time_rate", "days": 30}, {"rule": "petition_spike", "weeks": 52}]


# ---------- pure rules ----------

def test_case_due_counts_open_cases_within_the_window_per_township():
    df = pd.DataFrame({"case_id": ["a", "b", "c", "d", "e"], "township": ["东坪镇", "东坪镇", "西河镇", None, "西河镇"],
                       "days_left": [0.0, 3.0, 4.0, 1.0, -2.0]})
    got = A.case_due(df, 3).set_index("key")
    assert list(got.index) == ["case_due:*", "case_due:东坪镇"]     # 4 days left and already overdue are not "due"
    assert got.loc["case_due:东坪镇", "ids"] == ["a", "b"] and got.loc["case_due:东坪镇", "value"] == 2
    assert got.loc["case_due:*", "township"] is None


def test_petition_due_and_on_time_rate():
    cd = pd.DataFrame({"petition_id": ["p1", "p2", "p3"], "township": ["清水乡"] * 3, "days_left": [5.0, 6.0, None]})
    assert A.petition_due(cd, 5)["ids"].tolist() == [["p1"]]
    kpis = pd.DataFrame({"kpi": ["on_time_rate", "backlog"], "value": [0.90, 5], "target": [0.95, None]})
    assert A.on_time_rate(kpis)["value"].tolist() == [0.9]
    assert A.on_time_rate(kpis, target=0.85).empty                 # a rule's own target wins
    assert A.on_time_rate(kpis.assign(value=[0.96, 5])).empty


def test_etl_rules_look_at_the_latest_batch_and_the_last_success():
    b = pd.DataFrame({"batch_id": [1, 2, 3], "mapping": ["m1.yaml", "m1.yaml", "m2.yaml"],
                      "status": ["failed", "loaded", "failed"],
                      "started_at": pd.to_datetime(["2026-05-01", "2026-05-02", "2026-05-03"]),
                      "finished_at": pd.to_datetime(["2026-05-01", "2026-05-02", "2026-05-03"])})
    failed = A.etl_failed(b)
    assert failed["key"].tolist() == ["etl_failed:m2.yaml"] and failed["ids"].tolist() == [["3"]]
    assert A.etl_stale(b, dt.datetime(2026, 5, 4), 3).empty
    stale = A.etl_stale(b, dt.datetime(2026, 5, 9), 3)
    assert stale["value"].tolist() == [7.0]
    assert len(A.etl_stale(b.iloc[0:0], dt.datetime(2026, 5, 9), 3)) == 1      # never loaded: stale


@pytest.mark.parametrize("doc, says", [
    ({}, "non-empty list under `rules:`"),
    ({"rules": [{"rule": "nope"}]}, "'nope' is not one of"),
    ({"rules": [{"rule": "case_due", "within": 3}]}, "unknown parameter 'within'"),
    ({"rules": [{"rule": "case_due", "within_days": -1}]}, "not a whole number"),
    ({"rules": [{"rule": "on_time_rate", "target": 95}]}, "not a rate between 0 and 1"),
    ({"rules": ["case_due"]}, "must be a mapping"),
])
def test_a_bad_rules_file_is_one_sentence(doc, says):
    with pytest.raises(LandDeskError) as err:
        A.parse_rules(doc, "r.yaml")
    assert str(err.value).startswith("r.yaml: ") and says in str(err.value) and str(err.value).endswith(".")


# ---------- on the sample store ----------

@pytest.fixture
def store(sample_store_url, tmp_path):
    dest = tmp_path / "store.db"
    shutil.copy(Path(sample_store_url.removeprefix("sqlite:///")), dest)
    engine = make_engine(f"sqlite:///{dest.as_posix()}")
    yield engine
    engine.dispose()


def test_alerts_come_from_the_exports_as_of_the_data_end(store):
    from analytics.coverage import data_end
    from analytics.exports import run_export
    from analytics.scope import Scope
    found = evaluate(store, A.parse_rules({"rules": DATA_RULES}))
    with store.connect() as conn:
        end = data_end(conn)
    due = run_export(store, "overdue-cases", Scope(end, end))
    due = due[(due["days_left"] >= 0) & (due["days_left"] <= 3)]
    got = found[found["rule"] == "case_due"]
    assert sorted(i for ids in got["ids"] for i in ids) == sorted(due["case_id"])
    spikes = run_export(store, "petition-spikes", Scope(end - dt.timedelta(days=7 * 52 - 1), end))
    assert (found["rule"] == "petition_spike").sum() == len(spikes) > 0          # the one spike definition
    assert set(found.loc[found["rule"] == "petition_spike", "township"]) == set(spikes["township"])


def test_dedup_sent_once_resent_on_change_resolved_when_cleared(store, robot_server, tmp_path):  # noqa: F811
    rules = A.parse_rules({"rules": DATA_RULES})
    cfg = parse_config({"webhooks": [{"kind": "wecom", "url": f"{robot_server['base']}/cgi-bin/webhook/send?key=k"}]})
    first, sent = check(store, rules, cfg)
    assert first.new and not first.changed and [o.ok for o in sent] == [True]
    content = robot_server["received"][0][2]["markdown"]["content"]
    rows = recent_alerts(store)
    assert all(message(r, "zh") in content for _, r in rows.iterrows())
    assert rows["sent_at"].notna().all()

    again, sent = check(store, rules, cfg)                          # nothing changed: nothing sent
    assert not again.new and not again.changed and sorted(again.unchanged) == sorted(first.new) and sent == []
    assert len(robot_server["received"]) == 1

    # a due case gets a longer promised limit: its township's case_due alert changes (or clears), nothing else
    case_alert = rows[rows["rule"] == "case_due"].iloc[0]
    with store.begin() as conn:
        conn.execute(text("UPDATE cases SET promised_days = 999 WHERE case_id = :c"), {"c": case_alert["ids"][0]})
    third, sent = check(store, rules, cfg)
    assert (case_alert["id"] in third.changed) != (case_alert["id"] in third.resolved)
    assert set(third.changed) | set(third.resolved) == {case_alert["id"]} and not third.new
    if third.resolved:
        assert sent == [] and len(robot_server["received"]) == 1
        with store.connect() as conn:
            st = conn.execute(select(alerts_table.c.status).where(alerts_table.c.id == int(case_alert["id"]))).scalar()
        assert st == "resolved"
    else:
        assert len(robot_server["received"]) == 2
    hist = history(store, subject="alert")
    assert set(hist["status"]) == {"sent"} and (hist["channel"] == "wecom").all()


def test_a_failed_load_alerts_and_a_later_success_resolves(store, smtp_server):  # noqa: F811
    box, port = smtp_server()
    rules = A.parse_rules({"rules": [{"rule": "etl_failed"}]})
    cfg = parse_config({"smtp": {"host": "127.0.0.1", "port": port, "starttls": False, "from": "ld@bureau.example"},
                        "recipients": [{"email": "analyst@bureau.example", "lang": "en"},
                                       {"email": "town@bureau.example", "township": "东坪镇"}]})
    now = dt.datetime(2026, 11, 30, 8, 0)
    with store.begin() as conn:
        bid = conn.execute(insert(etl_batches).values(mapping="/srv/cases.yaml", dataset="cases", source="x.csv",
                                                      started_at=now, status="failed")).inserted_primary_key[0]
    state, outcomes = check(store, rules, cfg, now=now)
    assert len(state.new) == 1 and all(o.ok for o in outcomes)
    msgs = {m[0][0]: email.message_from_bytes(m[1], policy=email.policy.default) for m in box.messages}
    body = msgs["analyst@bureau.example"].get_body(("plain",)).get_content()
    assert f"batch {bid}" in body and "1 new or changed alert" in msgs["analyst@bureau.example"]["Subject"]
    assert "town@bureau.example" in msgs                              # county-wide alerts reach township recipients
    with store.begin() as conn:
        conn.execute(insert(etl_batches).values(mapping="/srv/cases.yaml", dataset="cases", source="x.csv",
                                                started_at=now, status="loaded"))
    state, outcomes = check(store, rules, cfg, now=now)
    assert state.resolved == state.resolved[:1] and len(state.resolved) == 1 and outcomes == []


def test_cli_alerts_check(store, robot_server, tmp_path, capsys):  # noqa: F811
    import yaml

    from cli.main import main
    rules = tmp_path / "alerts.yaml"
    rules.write_text(yaml.safe_dump({"rules": DATA_RULES}), encoding="utf-8")
    cfg = tmp_path / "delivery.yaml"
    cfg.write_text(yaml.safe_dump({"webhooks": [{"kind": "dingtalk", "url": f"{robot_server['base']}/robot/send?"
                                                 "access_token=t", "secret_env": "T_DING"}]}), encoding="utf-8")
    db = str(store.url)
    assert main(["alerts", "check", "--db", db, "--rules", str(rules), "--deliver", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "new, 0 changed" in out and "dingtalk" in out and robot_server["errors"] == []
    assert main(["alerts", "check", "--db", db, "--rules", str(rules), "--deliver", str(cfg)]) == 0
    assert "alerts: 0 new, 0 changed" in capsys.readouterr().out and len(robot_server["received"]) == 1
    rules.write_text("rules: [{rule: case_due, within_days: zero}]", encoding="utf-8")
    assert main(["alerts", "check", "--db", db, "--rules", str(rules)]) == 2
    assert "within_days 'zero' is not a whole number" in capsys.readouterr().err


def test_cockpit_shows_the_alerts(store, monkeypatch):
    from streamlit.testing.v1 import AppTest
    rules = A.parse_rules({"rules": DATA_RULES})
    sync(store, evaluate(store, rules), rules)
    monkeypatch.setenv("LANDDESK_DATABASE_URL", str(store.url))
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    assert not at.exception
    frames = [df.value for df in at.dataframe]
    shown = pd.concat([f for f in frames if "预警内容" in f.columns])
    expected = {message(r, "zh") for _, r in recent_alerts(store).iterrows()}
    assert expected <= set(shown["预警内容"]) and "生效中" in set(shown["状态"])
    assert any(s.value == "预警" for s in at.subheader)
