"""Alert rules: pure evaluation of thresholds on analytics frames (no store writes, no sending).

Each rule turns the frame it watches into alert rows — one per occurrence subject (a township, a mapping, the
county) — naming the cases or petitions by id only (no personal data). The rules file (YAML) lists the rules to
run with their parameters; `delivery.alerts` gathers the frames, keeps the state (deduplication) and sends.

    rules:
      - {rule: case_due, within_days: 3}        # open cases that pass their promised limit within N working days
      - {rule: petition_due, within_days: 5}    # petitions within N days of their 15/60-day limit
      - {rule: on_time_rate, days: 30}          # on-time rate of the last N days below its target (or `target:`)
      - {rule: petition_spike, weeks: 1}        # petition spikes (analytics.spikes) of the last N weeks
      - {rule: etl_failed}                      # a mapping whose latest load failed
      - {rule: etl_stale, days: 3}              # no successful load for N days
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field

import pandas as pd

from landdesk.errors import LandDeskError

#: rule → its parameters and their defaults (positive numbers; on_time_rate's target defaults to the store's).
RULES: dict[str, dict] = {
    "case_due": {"within_days": 3},
    "petition_due": {"within_days": 5},
    "on_time_rate": {"days": 30, "target": None},
    "petition_spike": {"weeks": 1},
    "etl_failed": {},
    "etl_stale": {"days": 3},
}
COUNTY = "*"                      # the subject of a county-wide alert
ALERT_COLUMNS = ["rule", "key", "township", "value", "threshold", "ids"]
MAX_IDS = 200                     # ids named in one alert (the count says how many there are)


@dataclass(frozen=True)
class Rule:
    name: str
    params: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.params[key]


def parse_rules(doc, source: str = "the rules file") -> list[Rule]:
    """The rules of a parsed YAML document ({rules: [...]}); one sentence for anything wrong."""
    def bad(msg: str):
        raise LandDeskError(f"{source}: {msg}.")
    if not isinstance(doc, dict) or not isinstance(doc.get("rules"), list) or not doc["rules"]:
        bad("it must hold a non-empty list under `rules:`")
    out = []
    for i, item in enumerate(doc["rules"]):
        if not isinstance(item, dict) or "rule" not in item:
            bad(f"rules[{i}] must be a mapping with a `rule:` name")
        name = str(item["rule"])
        if name not in RULES:
            bad(f"rules[{i}].rule {name!r} is not one of {', '.join(RULES)}")
        params = dict(RULES[name])
        for key, value in item.items():
            if key == "rule":
                continue
            if key not in RULES[name]:
                bad(f"rules[{i}] ({name}) has the unknown parameter {key!r}"
                    + (f" (known: {', '.join(RULES[name])})" if RULES[name] else " (it takes none)"))
            if key == "target":
                if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 1:
                    bad(f"rules[{i}].target {value!r} is not a rate between 0 and 1 (0.95 for 95 %)")
            elif not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= 366:
                bad(f"rules[{i}].{key} {value!r} is not a whole number from 1 to 366")
            params[key] = value
        out.append(Rule(name, params))
    return out


def _frame(rows: list[dict]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=ALERT_COLUMNS).astype({"township": object})
    df["township"] = df["township"].where(df["township"].notna(), None)     # a county-wide alert: None, not NaN
    return df


def _ids(frame: pd.DataFrame, col: str) -> list[str]:
    return sorted(map(str, frame[col]))[:MAX_IDS]


def _per_township(rule: str, frame: pd.DataFrame, id_col: str, threshold) -> pd.DataFrame:
    rows = []
    town = frame["township"].astype(object).where(frame["township"].notna(), "")
    for township, part in frame.groupby(town, sort=True):
        rows.append({"rule": rule, "key": f"{rule}:{township or COUNTY}", "township": township or None,
                     "value": len(part), "threshold": threshold, "ids": _ids(part, id_col)})
    return _frame(rows)


def case_due(overdue_cases: pd.DataFrame, within_days: int) -> pd.DataFrame:
    """Open cases that will pass their promised limit within `within_days` working days (not yet past it), per
    township. `overdue_cases`: the overdue-cases export (days_left in working days)."""
    df = overdue_cases
    due = df[df["days_left"].notna() & (df["days_left"] >= 0) & (df["days_left"] <= within_days)]
    return _per_township("case_due", due, "case_id", within_days)


def petition_due(countdown: pd.DataFrame, within_days: int) -> pd.DataFrame:
    """Petitions within `within_days` calendar days of their acceptance (15-day) or reply (60/90-day) limit, per
    township. `countdown`: the petition-countdown export."""
    df = countdown
    due = df[df["days_left"].notna() & (df["days_left"] >= 0) & (df["days_left"] <= within_days)]
    return _per_township("petition_due", due, "petition_id", within_days)


def on_time_rate(kpis: pd.DataFrame, target: float | None = None) -> pd.DataFrame:
    """The on-time rate of the period (the kpis export) below `target` (default: the export's own target)."""
    row = kpis.set_index("kpi").loc["on_time_rate"] if "on_time_rate" in set(kpis["kpi"]) else None
    if row is None:
        return _frame([])
    value, goal = row["value"], target if target is not None else row.get("target")
    if value is None or goal is None or math.isnan(float(value)) or math.isnan(float(goal)) or value >= goal:
        return _frame([])
    return _frame([{"rule": "on_time_rate", "key": f"on_time_rate:{COUNTY}", "township": None,
                    "value": round(float(value), 4), "threshold": float(goal), "ids": []}])


def petition_spike(spikes: pd.DataFrame) -> pd.DataFrame:
    """One alert per spike (topic × township × week) of the petition-spikes export — THE spike definition."""
    rows = [{"rule": "petition_spike", "key": f"petition_spike:{r.township}:{r.topic}:{r.week}",
             "township": r.township if r.township != "(unknown)" else None, "value": int(r.count),
             "threshold": round(float(r.upper_95), 1), "ids": [f"{r.topic}", f"{r.week}"]}
            for r in spikes.itertuples()]
    return _frame(rows)


def etl_failed(batches: pd.DataFrame) -> pd.DataFrame:
    """Mappings whose latest batch failed (one alert each, naming the batch)."""
    if batches.empty:
        return _frame([])
    latest = batches.sort_values("batch_id").groupby("mapping", sort=True).tail(1)
    failed = latest[latest["status"] == "failed"]
    return _frame([{"rule": "etl_failed", "key": f"etl_failed:{r.mapping}", "township": None, "value": 1,
                    "threshold": None, "ids": [str(int(r.batch_id))]} for r in failed.itertuples()])


def etl_stale(batches: pd.DataFrame, now: dt.datetime, days: int) -> pd.DataFrame:
    """No batch loaded (status loaded or skipped: the source was read) in the last `days` days before `now`."""
    ok = batches[batches["status"].isin(["loaded", "skipped"])] if len(batches) else batches
    last = pd.to_datetime(ok["finished_at"].fillna(ok["started_at"])).max() if len(ok) else None
    if last is not None and not pd.isna(last) and now - last.to_pydatetime() <= dt.timedelta(days=days):
        return _frame([])
    age = None if last is None or pd.isna(last) else round((now - last.to_pydatetime()).total_seconds() / 86400, 1)
    return _frame([{"rule": "etl_stale", "key": f"etl_stale:{COUNTY}", "township": None, "value": age,
                    "threshold": days, "ids": []}])


def fingerprint(row) -> str:
    """What an alert says, hashed: the same occurrence with other ids or another value is a change to re-send."""
    doc = {"value": row["value"], "threshold": row["threshold"], "ids": list(row["ids"])}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode("utf-8")).hexdigest()
