"""The fast generator (issue 20) writes exactly the bytes of the frozen reference implementation.

A recorded hash would not do: the lognormal and gamma draws go through the platform's libm and the
.xes.gz through the installed zlib, so the bytes may differ between machines, but on one machine the
two implementations must agree file for file.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sample_data import generator
from sample_data.generator import generate
import generator_reference

FILES = ["approval_cases.csv", "approval_events.xes.gz", "petitions.csv", "land_use.xlsx",
         "land_supply.csv", "targets.csv", "regions.geojson", "land_parcels.gpkg"]


@pytest.mark.parametrize("seed, scale", [(20240101, 1.0), (7, 0.3)])
def test_same_bytes_as_the_reference(tmp_path, seed, scale):
    new, ref = tmp_path / "new", tmp_path / "ref"
    counts = generate(new, seed=seed, scale=scale)
    assert counts == generator_reference.generate(ref, seed=seed, scale=scale)
    assert counts["approval_events.xes.gz"] > 1000
    for name in FILES:
        assert (new / name).read_bytes() == (ref / name).read_bytes(), name


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"a": ["x", "y,z"], "b": [1, 2]}),                 # a delimiter: quoted
    pd.DataFrame({"a": ['say "hi"', "ok"], "b": ["", "2"]}),        # a quote character
    pd.DataFrame({"a": ["line\nbreak", "ok"], "b": ["1", "2"]}),   # a line break
    pd.DataFrame({"a": ["x", None], "b": ["1", "2"]}, dtype=object),  # a missing cell
    pd.DataFrame({"a": [1.5, 2.0], "b": ["1", "2"]}),               # a float column
    pd.DataFrame({"a": ["", ""]}),                                  # one column: csv quotes the empty field
])
def test_plain_csv_defers_to_pandas_when_a_cell_needs_it(tmp_path, frame):
    assert generator._plain_csv(frame, "\n") is None
    generator._write_csv(frame, tmp_path / "x.csv", "utf-8")
    assert (tmp_path / "x.csv").read_text(encoding="utf-8") == frame.to_csv(index=False, lineterminator="\n")


def test_plain_csv_is_what_pandas_writes():
    frame = generator._text_frame({"编号": np.array(["QS1", "QS2", "QS3"], dtype=object),
                                   "时间": np.array(["2024-01-02 08:30:00", "", "x y"]),
                                   "次数": np.array([0, 12, -3]), "摘要": ["反映，问题。", "（身份证）", " 前后 "]})
    for eol in ("\n", "\r\n"):
        text = generator._plain_csv(frame, eol)
        assert text is not None and text == frame.to_csv(index=False, lineterminator=eol)


def test_formatting_helpers_match_the_old_formatting():
    v = np.array([0, 7, 99999, 123456])
    assert generator._digits(v, 5).tolist() == pd.Series(v).astype(str).str.zfill(5).tolist()
    assert generator._digits(v[:3], 5).tolist() == ["00000", "00007", "99999"]
    ts = np.array(["2024-03-05T14:02:37", "NaT", "2026-10-31T08:30:00", "2024-03-05T00:00:00"], dtype="datetime64[s]")
    old = np.where(np.isnat(ts), "", np.char.replace(np.datetime_as_string(ts, unit="s").astype(str), "T", " "))
    assert generator._fmt_ts(ts).tolist() == old.tolist()
    days = ts.astype("datetime64[D]")
    assert generator._fmt_date(days).tolist() == ["2024-03-05", "", "2026-10-31", "2024-03-05"]
    assert generator._compact_dates(days[[0, 2]]).tolist() == ["20240305", "20261031"]
