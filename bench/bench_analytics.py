"""Analytics speed (issue 4): every export on the sample county at about a million stage events.

    .venv/bin/python bench/bench_analytics.py [--scale 30] [--keep DIR] [--pg URL] [--runs 3] [--only NAME,…]

Builds the county ×scale with the seeded generator into DIR/sample/exports (mappings and sources.yaml copied
beside it with the same relative layout), loads it through the real ETL (`landdesk db upgrade` + `landdesk etl
run` in subprocesses) into DIR/store.db and — with --pg — into that PostgreSQL database. With --keep DIR an
existing build is reused (delete DIR to rebuild); without it a temporary directory is used and removed.

Then, per export: one warm-up run and the median of --runs runs through `analytics.exports.run_export` (the
same path as `landdesk export`), on SQLite and PostgreSQL, beside the naive way for kpis, case-efficiency,
stage-times and petitions (whole tables read with pandas.read_sql, then pandas; asserted equal to the export),
and for the exports the event-times mart serves, the same export measured from the base tables ("base";
asserted equal frame for frame; --no-base skips it).
Periods: the cockpit KPI set for 30 days and for a year; every other export for 3 months; 'by' variants
where they change the work. Targets: the cockpit KPI set ≤ 1 s, every other export ≤ 2 s (SQLite).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analytics import memo  # noqa: E402

SEED = 20240101
# The generated county ends in late 2026 (see sample_data/README.md); the benchmark periods end at its last month.
END = dt.date(2026, 10, 31)
KPI_TARGET, EXPORT_TARGET = 1.0, 2.0


# ---------------------------------------------------------------- the store

def _cli(args: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "cli.main", *args], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"landdesk {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return time.perf_counter() - t0


def build(workdir: Path, scale: float, pg: str | None) -> dict:
    """Generate the county and load it; return the build figures (kept in DIR/build.json for --keep)."""
    from landdesk.settings import SAMPLE_DIR
    from sample_data.generator import generate

    info_path = workdir / "build.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    sample = workdir / "sample"
    sqlite_url = f"sqlite:///{(workdir / 'store.db').as_posix()}"
    if info.get("scale") != scale or not (workdir / "store.db").exists():
        shutil.rmtree(sample, ignore_errors=True)
        (workdir / "store.db").unlink(missing_ok=True)
        shutil.copytree(SAMPLE_DIR / "mappings", sample / "mappings")
        shutil.copytree(SAMPLE_DIR / "reference", sample / "reference")     # the statutory process sources.yaml names
        shutil.copy(SAMPLE_DIR / "sources.yaml", sample / "sources.yaml")
        print(f"generating the county ×{scale:g} …", flush=True)
        t0 = time.perf_counter()
        counts = generate(sample / "exports", seed=SEED, scale=scale)
        info = {"scale": scale, "generate_s": time.perf_counter() - t0, "counts": counts}
        print(f"  {info['generate_s']:.1f} s: {counts}", flush=True)
        info["sqlite_load_s"] = _cli(["db", "upgrade", "--db", sqlite_url]) + \
            _cli(["etl", "run", str(sample / "sources.yaml"), "--db", sqlite_url])
        print(f"  SQLite store loaded in {info['sqlite_load_s']:.1f} s", flush=True)
        info_path.write_text(json.dumps(info, indent=1))
    if pg and (info.get("pg_url") != pg or not _has_store(pg, store_counts(sqlite_url))):
        info["pg_load_s"] = _cli(["db", "upgrade", "--db", pg]) + \
            _cli(["etl", "run", str(sample / "sources.yaml"), "--db", pg])
        info["pg_url"] = pg
        print(f"  PostgreSQL store loaded in {info['pg_load_s']:.1f} s", flush=True)
        info_path.write_text(json.dumps(info, indent=1))
    info["sqlite_url"] = sqlite_url
    return info


def _has_store(url: str, want: dict[str, int]) -> bool:
    """The store at url holds the built county (same row counts), so --keep can reuse it."""
    try:
        return store_counts(url) == want
    except Exception:   # no database, no tables yet
        return False


def store_counts(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from etl.schema import case_events, cases, petitions
    from etl.store import make_engine
    eng = make_engine(url)
    with eng.connect() as conn:
        out = {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
               for t in (cases, case_events, petitions)}
    eng.dispose()
    return out


# ---------------------------------------------------------------- what is timed

def scopes():
    from analytics.scope import Scope
    return {
        "30d": Scope(END - dt.timedelta(days=29), END),
        "year": Scope(END - dt.timedelta(days=364), END),
        "3m": Scope(dt.date(2026, 8, 1), END),
    }


def cases_to_time(only: set[str] | None = None) -> list[tuple[str, str, str | None]]:
    """(export, period key, by) in the order printed: the cockpit set first, then every other export for 3 months,
    with the 'by' variants that change the work (period: one scope per month; others: grouping)."""
    from analytics.exports import registry

    extra_by = {"case-efficiency": ("township", "period"), "case-efficiency-changes": ("period",),
                "backlog-age": ("township",), "workload": ("handler",), "petitions": ("topic", "period"),
                "land-use": ("township",), "land-change": ("township",), "land-supply": ("period",),
                "forecast": ("case_type",)}
    out = [("kpis", "30d", None), ("kpis", "year", None)]
    for name in registry():
        if name == "kpis":
            continue
        out.append((name, "3m", None))
        out += [(name, "3m", b) for b in extra_by.get(name, ())]
    if only:
        out = [c for c in out if c[0] in only]
    return out


def timed(fn, runs: int) -> tuple[float, object]:
    """Median of `runs` cold runs: the in-process result caches (analytics.memo) are emptied before each. What
    the store keeps for every process (analytics.riskstore: the assessed integrity reference) stays: the warm-up
    writes it, as the first process to learn it does."""
    from analytics import riskstore
    fn()                                   # warm-up (imports, the database's page cache)
    riskstore.wait_for_background()
    times, value = [], None
    for _ in range(runs):
        memo.clear_all()
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), value


# ---------------------------------------------------------------- the naive way

def _read(engine, table: str) -> pd.DataFrame:
    return pd.read_sql(f"SELECT * FROM {table}", engine)


def _dt(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        df[c] = pd.to_datetime(df[c], format="ISO8601")
    return df


def _in(ts: pd.Series, scope) -> pd.Series:
    return (ts >= pd.Timestamp(scope.start_ts)) & (ts < pd.Timestamp(scope.end_ts))


def _naive_cases(engine) -> pd.DataFrame:
    return _dt(_read(engine, "cases"), "received_at", "closed_at")


def naive_kpis(engine, scope, unit="workdays") -> pd.DataFrame:
    """kpis the naive way: every table read whole with pandas.read_sql, then filtered and counted in pandas."""
    from analytics import kpis
    from analytics.workcal import load_calendar

    cal = load_calendar(engine)
    cs = _naive_cases(engine)
    pet = _dt(_read(engine, "petitions"), "received_at", "replied_at")
    lu = _read(engine, "land_use")
    tg = _read(engine, "targets")

    def values(sc):
        done = cs[_in(cs["closed_at"], sc) & cs["status"].isin(kpis.DONE_STATUSES)]
        still = cs[(cs["received_at"] < pd.Timestamp(sc.end_ts))
                   & (cs["closed_at"].isna() | (cs["closed_at"] >= pd.Timestamp(sc.end_ts)))]
        rec = cs[_in(cs["received_at"], sc)]
        replied = pet[_in(pet["replied_at"], sc)]
        cult = lu[(lu["category_code"] == kpis.CULTIVATED) & (lu["year"] <= sc.end.year)]
        year = cult["year"].max()
        return {
            "cases_received": len(rec),
            "cases_closed": len(done),
            "on_time_rate": kpis.on_time_rate(done, cal),
            "median_throughput": kpis.median_throughput(done, cal, unit),
            "backlog": len(still),
            "overdue": kpis.overdue(done, still, sc, cal),
            "online_rate": float(rec["channel"].isin(kpis.ONLINE_CHANNELS).sum()) / len(rec) if len(rec) else math.nan,
            "good_rating_rate": kpis.good_rating_rate(done),
            "petitions_received": int(_in(pet["received_at"], sc).sum()),
            "petition_reply_on_time_rate": float(np.mean(kpis.replied_on_time(replied))) if len(replied)
            else math.nan,
            "cultivated_land_ha": float(cult.loc[cult["year"] == year, "area_ha"].sum()) if len(cult) else math.nan,
        }

    def target(indicator):
        rows = tg[tg["indicator"] == indicator]
        pick = rows[~rows["region_code"].isin(set(lu["region_code"]))]
        if pick.empty:
            return math.nan
        y = pd.to_numeric(pick["period"].str[:4], errors="coerce")
        later = pick[y >= scope.end.year]
        chosen = later.loc[y[later.index].idxmin()] if not later.empty else pick.loc[y.idxmax()]
        return float(chosen["value"])

    now, before = values(scope), values(scope.previous())
    rows = []
    for code, spec in kpis.KPI_SPEC.items():
        direction, indicator = spec.direction, spec.target
        tgt = target(indicator) if indicator else math.nan
        if code == "median_throughput" and unit != "workdays":
            tgt = math.nan
        v, p = now[code], before[code]
        rows.append({"kpi": code, "value": v, "previous": p,
                     "change": v - p if not (math.isnan(v) or math.isnan(p)) else math.nan,
                     "target": tgt, "status": kpis.status(v, tgt, direction),
                     "period_start": scope.start.isoformat(), "period_end": scope.end.isoformat()})
    return pd.DataFrame(rows)


def naive_case_efficiency(engine, scope, unit="workdays", by=None) -> pd.DataFrame:
    """case-efficiency the naive way (the whole cases table in pandas, groupby); by None or a case dimension."""
    from analytics import efficiency as eff
    from analytics import kpis
    from analytics.workcal import load_calendar

    cal = load_calendar(engine)
    cs = _naive_cases(engine)
    rec = cs[_in(cs["received_at"], scope)]
    done = cs[_in(cs["closed_at"], scope) & cs["status"].isin(kpis.DONE_STATUSES)]
    still = cs[(cs["received_at"] < pd.Timestamp(scope.end_ts))
               & (cs["closed_at"].isna() | (cs["closed_at"] >= pd.Timestamp(scope.end_ts)))]

    def received(part):
        if part is None or not len(part):
            return eff._received_metrics(None)
        valid = (part["statutory_days"] > 0) & part["promised_days"].notna()
        ratio = (part["statutory_days"] - part["promised_days"]) / part["statutory_days"]
        return eff._received_metrics({"received": len(part),
                                      "online": float(part["channel"].isin(kpis.ONLINE_CHANNELS).sum()),
                                      "compression_sum": float(ratio[valid].sum()),
                                      "compression_n": float(valid.sum())})

    if by:
        r, d, o = (dict(tuple(f.groupby(f[by].fillna("\x00"), sort=False))) for f in (rec, done, still))
        keys = sorted(set(r) | set(d) | set(o), key=lambda v: (v == "\x00", str(v)))
    else:
        r, d, o, keys = {None: rec}, {None: done}, {None: still}, [None]
    rows = []
    for k in keys:
        dd, oo = d.get(k, done.iloc[:0]), o.get(k, still.iloc[:0])
        row = {by: (None if k == "\x00" else k)} if by else {}
        row.update(received(r.get(k)))
        row.update(eff.completed_metrics(dd, cal, unit))
        row["overdue"] = kpis.overdue(dd, oo, scope, cal)
        row.update(period_start=scope.start.isoformat(), period_end=scope.end.isoformat())
        rows.append(row)
    return pd.DataFrame(rows, columns=([by] if by else []) + list(eff.METRIC_COLUMNS) + ["period_start", "period_end"])


def naive_stage_times(engine, scope, unit="workdays") -> pd.DataFrame:
    """stage-times the naive way: both event and case tables whole, joined, context and filter in pandas."""
    from analytics import bottlenecks as bn
    from analytics.process import EVENT_COLUMNS, measure
    from analytics.workcal import load_calendar

    cal = load_calendar(engine)
    ev = _dt(_read(engine, "case_events"), "started_at", "completed_at")
    cs = _naive_cases(engine)
    ev = ev.merge(cs[["system", "case_id", "department", "received_at", "closed_at"]], on=["system", "case_id"],
                  suffixes=("", "_case"))
    ev["department"] = ev["department"].where(ev["department"].notna(), ev["department_case"])
    ev = ev.rename(columns={"handler_key": "handler"}).sort_values(["system", "case_id", "seq"], kind="stable")
    same = ev["case_id"].eq(ev["case_id"].shift()) & ev["system"].eq(ev["system"].shift())
    ev["prev_completed_at"] = ev["completed_at"].shift().where(same)
    ev["prev_stage"] = ev["stage"].shift().where(same)
    ev["is_last"] = ~(ev["case_id"].eq(ev["case_id"].shift(-1)) & ev["system"].eq(ev["system"].shift(-1)))
    ev["case_key"] = (~same).cumsum() - 1
    ev["occurrence"] = ev.groupby(["case_key", "stage"], sort=False).cumcount() + 1
    ev = ev[_in(ev["completed_at"], scope)][EVENT_COLUMNS].reset_index(drop=True)
    return bn.stage_times(measure(ev, cal, unit))


def naive_petitions(engine, scope, unit="workdays") -> pd.DataFrame:
    """petitions the naive way: the whole petitions table, the same per-group metrics in pandas."""
    from analytics import petitions as pt

    df = _dt(_read(engine, "petitions"), "received_at", "accepted_at", "replied_at", "closed_at")
    df["extended"] = df["extended"].astype(object).where(df["extended"].notna(), None)
    hist = df[df["petitioner_key"].notna() & df["topic"].notna()
              & (df["received_at"] >= pd.Timestamp(scope.start_ts) - pd.Timedelta(days=pt.REPEAT_DAYS))
              & (df["received_at"] < pd.Timestamp(scope.end_ts))]
    hist = hist.assign(petition_id=pt.petition_keys(hist))     # ids are unique within a source system only
    flags = pt.repeat_flags(hist[["petition_id", "petitioner_key", "topic", "received_at"]])
    keys = pd.Series(hist["petitioner_key"].to_numpy(), index=hist["petition_id"].to_numpy())
    repeats = pd.DataFrame({"repeat": flags, "key": keys.reindex(flags.index)})
    concluded = df["replied_at"].where(df["replied_at"].notna(), df["closed_at"])
    touching = df[_in(df["received_at"], scope) | _in(df["accepted_at"], scope) | _in(df["replied_at"], scope)
                  | _in(concluded, scope)]
    row = {**pt.group_metrics(touching, repeats, scope), "period_start": scope.start.isoformat(),
           "period_end": scope.end.isoformat()}
    return pd.DataFrame([row], columns=list(pt.METRIC_COLUMNS) + ["period_start", "period_end"])


NAIVE = {
    ("kpis", None): lambda eng, sc: naive_kpis(eng, sc),
    ("case-efficiency", None): lambda eng, sc: naive_case_efficiency(eng, sc),
    ("case-efficiency", "township"): lambda eng, sc: naive_case_efficiency(eng, sc, by="township"),
    ("stage-times", None): lambda eng, sc: naive_stage_times(eng, sc),
    ("petitions", None): lambda eng, sc: naive_petitions(eng, sc),
}


def assert_same(name: str, got: pd.DataFrame, want: pd.DataFrame) -> None:
    """The export's frame equals the naive one on the naive one's columns (kpis has since gained comparison
    columns — change_pct, compare, baseline_start/end — that the naive way does not compute)."""
    try:
        pd.testing.assert_frame_equal(got[list(want.columns)].reset_index(drop=True), want.reset_index(drop=True),
                                      check_dtype=False, check_exact=False, rtol=1e-9, atol=1e-9)
    except AssertionError as exc:
        raise SystemExit(f"{name}: the naive result differs from the export:\n{exc}") from None


# ---------------------------------------------------------------- from the base tables

#: The exports the event-times mart serves (analytics.eventmart); each is also timed measured from the base
#: tables (the path before the mart, and still the path where the mart cannot answer) and must equal it exactly.
MART_EXPORTS = {"stage-times", "bottlenecks", "bottlenecks-elapsed", "bottlenecks-waiting", "bottlenecks-processing",
                "dfg", "dfg-nodes", "rework", "workload", "stage-trend", "resource-activity"}


class base_tables:
    """Within: the event-times mart answers nothing, so the process exports measure from the base tables."""

    def __enter__(self):
        from analytics import eventmart
        self._real = eventmart.serves
        eventmart.serves = lambda *a, **k: False

    def __exit__(self, *exc):
        from analytics import eventmart
        eventmart.serves = self._real


# ---------------------------------------------------------------- main

def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import sqlalchemy
    import sqlite3
    return (f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu}), Python "
            f"{platform.python_version()}, pandas {pd.__version__}, numpy {np.__version__}, SQLAlchemy "
            f"{sqlalchemy.__version__}, SQLite {sqlite3.sqlite_version}")


def _fmt(v, width: int, digits: int) -> str:
    return f"{v:{width}.{digits}f}" if v is not None else " " * (width - 1) + "-"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=30.0)
    ap.add_argument("--keep", type=Path, help="build into (or reuse) this directory instead of a temporary one")
    ap.add_argument("--pg", help="also load and time a PostgreSQL store at this URL (its tables are overwritten)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", help="comma-separated export names")
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--no-base", action="store_true",
                    help="skip timing the event-times mart's exports measured from the base tables")
    args = ap.parse_args(argv)

    from analytics.exports import run_export
    from etl.store import make_engine

    tmp = None
    if args.keep:
        workdir = args.keep.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="landdesk-bench-")
        workdir = Path(tmp.name)
    try:
        info = build(workdir, args.scale, args.pg)
        engines = {"SQLite": make_engine(info["sqlite_url"])}
        if args.pg:
            engines["PostgreSQL"] = make_engine(args.pg)
        counts = store_counts(info["sqlite_url"])
        print(f"\nmachine: {machine()}; load average before timing {os.getloadavg()[0]:.2f}")
        print(f"store (×{args.scale:g}): {counts['cases']:,} cases, {counts['case_events']:,} stage events, "
              f"{counts['petitions']:,} petitions")
        build_line = f"build: generate {info['generate_s']:.1f} s, SQLite load {info['sqlite_load_s']:.1f} s"
        if "pg_load_s" in info:
            build_line += f", PostgreSQL load {info['pg_load_s']:.1f} s"
        print(build_line + (" (reused from --keep)" if args.keep else ""))
        sc = scopes()
        only = set(args.only.split(",")) if args.only else None
        rows = []
        print(f"\n{'export':34s} {'period':>6s} {'SQLite s':>9s} {'PG s':>7s} {'naive s':>8s} {'naive/SQLite':>12s}"
              f" {'base SQLite s':>13s} {'base PG s':>9s}")
        for name, period, by in cases_to_time(only):
            label = name + (f" --by {by}" if by else "")
            res = {}
            for backend, eng in engines.items():
                res[backend], value = timed(lambda: run_export(eng, name, sc[period], "workdays", by), args.runs)
                if backend == "SQLite":
                    exported = value
            naive = None
            if not args.no_naive and (name, by) in NAIVE:
                naive, want = timed(lambda: NAIVE[(name, by)](engines["SQLite"], sc[period]), max(1, args.runs))
                assert_same(label, exported, want)
            base = {}
            if not args.no_base and name in MART_EXPORTS:
                for backend, eng in engines.items():
                    with base_tables():
                        base[backend], want = timed(lambda: run_export(eng, name, sc[period], "workdays", by), 1)
                    if backend == "SQLite":
                        try:
                            pd.testing.assert_frame_equal(exported, want, check_exact=True)
                        except AssertionError as exc:
                            raise SystemExit(f"{label}: the mart's result differs from the base tables':\n{exc}")
            target = KPI_TARGET if name == "kpis" else EXPORT_TARGET
            row = dict(export=label, period=period, sqlite=res["SQLite"], pg=res.get("PostgreSQL"), naive=naive,
                       target=target)
            rows.append(row)
            print(f"{label:34s} {period:>6s} {row['sqlite']:9.3f} {_fmt(row['pg'], 7, 3)} {_fmt(naive, 8, 2)} "
                  f"{_fmt(naive / row['sqlite'] if naive is not None else None, 11, 1)}{'x' if naive else ' '}"
                  f" {_fmt(base.get('SQLite'), 13, 3)} {_fmt(base.get('PostgreSQL'), 9, 3)}", flush=True)
        over = [r for r in rows if r["sqlite"] > r["target"]]
        print(f"\nload average after timing {os.getloadavg()[0]:.2f} (other work on the machine inflates the figures)")
        print("targets (SQLite): cockpit KPI set <= 1 s, every other export <= 2 s")
        if over:
            for r in over:
                print(f"  OVER: {r['export']} ({r['period']}) {r['sqlite']:.2f} s > {r['target']:g} s")
        else:
            print("  all exports within their targets")
        if "PostgreSQL" in engines:
            pg_over = [r for r in rows if r["pg"] is not None and r["pg"] > r["target"]]
            print(f"  PostgreSQL (reported, same targets): {len(pg_over)} over"
                  + "".join(f"\n    {r['export']} ({r['period']}) {r['pg']:.2f} s" for r in pg_over))
        for eng in engines.values():
            eng.dispose()
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
