"""The sample-county generator: deterministic, realistic-looking exports, mappings that match them."""
from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest
import yaml
from lxml import etree

from sample_data import MAPPINGS_DIR, SOURCES_FILE
from sample_data.generator import generate, id_check_digit, main

SCALE = 0.05
FILES = ["approval_cases.csv", "approval_events.xes.gz", "petitions.csv", "land_use.xlsx",
         "land_supply.csv", "targets.csv", "regions.geojson", "land_parcels.gpkg"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    a = tmp_path_factory.mktemp("gen_a")
    b = tmp_path_factory.mktemp("gen_b")
    counts = generate(a, seed=7, scale=SCALE)
    generate(b, seed=7, scale=SCALE)
    return a, b, counts


def _events(path: Path) -> pd.DataFrame:
    rows, case = [], None
    with gzip.open(path, "rb") as fh:
        for _, el in etree.iterparse(fh, events=("end",)):
            tag = el.tag.rsplit("}", 1)[-1]
            parent = el.getparent()
            ptag = parent.tag.rsplit("}", 1)[-1] if parent is not None else ""
            if ptag == "trace" and el.get("key") == "concept:name":
                case = el.get("value")
            elif tag == "event":
                attrs = {c.get("key"): c.get("value") for c in el}
                rows.append({"case": case, **attrs})
                el.clear()
    return pd.DataFrame(rows)


def test_same_seed_same_bytes(runs):
    a, b, _ = runs
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_gzip_header_has_no_timestamp(runs):
    head = (runs[0] / "approval_events.xes.gz").read_bytes()[:10]
    assert head[:2] == b"\x1f\x8b" and head[4:8] == b"\x00\x00\x00\x00"


def test_other_seed_differs(runs, tmp_path):
    generate(tmp_path, seed=8, scale=SCALE)
    a = runs[0]
    for name in ("approval_cases.csv", "approval_events.xes.gz", "petitions.csv", "land_use.xlsx"):
        assert (a / name).read_bytes() != (tmp_path / name).read_bytes(), name


def test_counts_match_files(runs):
    a, _, counts = runs
    assert set(counts) == set(FILES) and all(v > 0 for v in counts.values())
    assert len(pd.read_csv(a / "approval_cases.csv", dtype=str, encoding="utf-8-sig")) == counts["approval_cases.csv"]
    assert len(pd.read_csv(a / "petitions.csv", dtype=str, encoding="gb18030")) == counts["petitions.csv"]
    assert len(_events(a / "approval_events.xes.gz")) == 2 * counts["approval_events.xes.gz"]


def test_encodings(runs):
    a = runs[0]
    raw = (a / "petitions.csv").read_bytes()
    raw.decode("gb18030")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert (a / "approval_cases.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    (a / "land_supply.csv").read_bytes().decode("utf-8")


def test_id_numbers_are_valid(runs):
    a = runs[0]
    cases = pd.read_csv(a / "approval_cases.csv", dtype=str, encoding="utf-8-sig")
    pet = pd.read_csv(a / "petitions.csv", dtype=str, encoding="gb18030")
    for ids in (cases["申请人身份证号"], pet["身份证号"]):
        assert ids.str.fullmatch(r"\d{17}[\dX]").all()
        assert all(i[17] == id_check_digit(i[:17]) for i in ids)
    for phones in (cases["联系电话"], pet["联系电话"]):
        assert phones.str.fullmatch(r"1[3-9]\d{9}").all()
    assert id_check_digit("11010519491231002") == "X"   # GB 11643 worked example


def test_cases_codes_and_windows(runs):
    a = runs[0]
    cases = pd.read_csv(a / "approval_cases.csv", dtype=str, encoding="utf-8-sig")
    assert cases["办件编号"].is_unique
    assert set(cases["申请渠道"]) <= {"窗口", "网上办理", "掌上办", "邮寄", "其他"}
    assert set(cases["办件状态"]) <= {"已办结", "在办", "已撤回", "不予受理"}
    assert cases.loc[cases["办件状态"] == "在办", "办结时间"].isna().all()
    assert cases.loc[cases["办件状态"] != "在办", "办结时间"].notna().all()
    recv = pd.to_datetime(cases["受理时间"])
    assert recv.min() >= pd.Timestamp("2024-01-01") and recv.max() < pd.Timestamp("2026-11-01")
    ev = _events(a / "approval_events.xes.gz")
    ev["ts"] = pd.to_datetime(ev["time:timestamp"].str[:19])
    assert ev["time:timestamp"].str.endswith("+08:00").all()
    assert set(ev["lifecycle:transition"]) == {"start", "complete"}
    c = cases.set_index("办件编号")
    assert set(ev["case"]) <= set(c.index)
    first = ev.groupby("case")["ts"].min()
    last = ev.groupby("case")["ts"].max()
    assert (first >= pd.to_datetime(c.loc[first.index, "受理时间"])).all()
    closed = c.loc[last.index, "办结时间"].notna()
    assert (last[closed] == pd.to_datetime(c.loc[last.index[closed], "办结时间"])).all()
    # events of a case are in time order, start before complete
    assert ev.groupby("case")["ts"].apply(lambda s: s.is_monotonic_increasing).all()
    minutes = ev["ts"].dt.hour * 60 + ev["ts"].dt.minute
    assert minutes.between(8 * 60 + 30, 17 * 60 + 30).all()


def test_land_use_totals_constant(runs):
    a = runs[0]
    lu = pd.read_excel(a / "land_use.xlsx", sheet_name="土地利用现状", header=2, dtype=str)
    assert list(lu.columns) == ["行政区代码", "行政区名称", "年度", "地类编码", "地类名称", "面积（公顷）"]
    assert set(lu["地类编码"]) == {f"{i:02d}" for i in range(13)}
    lu["a"] = lu["面积（公顷）"].astype(float)
    assert (lu["a"] >= 0).all()
    totals = lu.groupby(["行政区代码", "年度"])["a"].sum().round(2)
    assert (totals.groupby(level=0).nunique() == 1).all()
    assert lu["行政区代码"].nunique() == 12 and lu["年度"].nunique() == 8


def test_mappings_match_exports(runs):
    a = runs[0]
    listed = yaml.safe_load(SOURCES_FILE.read_text(encoding="utf-8"))["sources"]
    assert listed.index("mappings/approval_cases.yaml") < listed.index("mappings/approval_events.yaml")
    assert listed[-1] == "reference/reference_process.yaml"          # the statutory process, not a source mapping
    listed = [rel for rel in listed if rel.startswith("mappings/")]
    assert sorted(listed) == sorted(f"mappings/{p.name}" for p in MAPPINGS_DIR.glob("*.yaml"))
    for rel in listed:
        doc = yaml.safe_load((SOURCES_FILE.parent / rel).read_text(encoding="utf-8"))
        src = doc["source"]
        name = Path(src["path"]).name
        assert (MAPPINGS_DIR / src["path"]).resolve().name == name
        if name.endswith(".xes.gz"):
            ev = _events(a / name)
            ev["case:concept:name"] = ev["case"]
            header = set(ev.columns)
        elif name.endswith((".geojson", ".gpkg")):
            import pyogrio
            header = set(pyogrio.read_info(a / name, layer=src.get("layer"))["fields"])
        elif name.endswith(".xlsx"):
            header = set(pd.read_excel(a / name, sheet_name=src["sheet"], header=src["header_row"], nrows=1).columns)
        else:
            header = set(pd.read_csv(a / name, dtype=str, encoding="gb18030" if "petitions" in name else "utf-8-sig",
                                     nrows=1).columns)
        missing = set(doc["columns"].values()) - header
        assert not missing, (rel, missing)
        # personal names and phones are never mapped
        assert not {"申请人", "信访人", "联系电话"} & set(doc["columns"].values()), rel


def test_cli(tmp_path, capsys):
    assert main(["--seed", "3", "--scale", "0.02", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "approval_cases.csv" in out
    assert all((tmp_path / f).is_file() for f in FILES)
