"""Hardening, tried the way an attacker would: SQL built from text, spreadsheet formulas in the data,
oversized and wrongly typed uploads, secrets from the environment or secrets.toml only."""
import ast
import datetime as dt
import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from analytics.exports import run_export
from analytics.scope import Scope
from etl.load import load_mapping
from landdesk import settings as config
from landdesk.errors import LandDeskError
from landdesk.spreadsheet import to_csv_bytes, to_xlsx_bytes

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("analytics", "etl", "landdesk", "dashboard", "pages", "briefing", "sample_data")
SQL_CALLS = {"text", "execute", "exec_driver_sql", "executescript", "executemany", "read_sql", "read_sql_query",
             "read_sql_table", "copy"}

#: Places that build SQL text dynamically, and why no user text can reach them. A new one fails the
#: test until it is reviewed and listed here (parameters — `?`, `%s`, bindparam, SQLAlchemy
#: expressions — are the rule; identifiers can't be parameters, hence these).
REVIEWED_DYNAMIC_SQL = {
    ("etl/load.py", "_drop_indexes_for_bulk"): "table name from etl.schema; n is an int; index names from sqlite_master",
    ("etl/load.py", "_pg_upsert"): "table and column names from etl.schema (quoted); stage name derived from them",
    ("etl/load.py", "_pg_drop_for_bulk"): "table name from etl.schema; constraint/index names and DDL from pg_catalog",
    ("etl/load.py", "_pg_analyze"): "table name from etl.schema (quoted); the look-up of its row estimate is bound",
    ("etl/staging.py", "__init__"): "the staging table's name from a validated dataset name; columns c0…cN",
    ("etl/staging.py", "add"): "staging table and column names as in __init__; the records are bound parameters (COPY)",
    ("etl/staging.py", "slices"): "names as in __init__; the slice bounds are bound parameters (the dialect's mark)",
    ("etl/staging.py", "drop"): "the staging table's name as in __init__",
    ("etl/spatial.py", "to_postgis"): "table names from the GEOMETRY_TABLES constant; the extension's schema from pg_catalog, quoted; the SRID a constant",
    ("etl/spatial.py", "to_text"): "table names from GEOMETRY_TABLES; the extension's schema from pg_catalog, quoted; values bound",
    ("etl/eventtimes.py", "_cluster"): "the mart's table and primary-key names from etl.schema",
    ("etl/marks.py", "read"): "table names from the TABLES constant; no value is interpolated",
    ("etl/extract.py", "*"): "a SQL source's `query:` from the mapping file the analyst wrote (administrator "
                             "configuration, run on the source system, not the store); uploads strip url/query",
}


def _is_dynamic(node: ast.AST) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("format", "join"):
        return True
    return False


def _dynamic_sql_sites(path: Path) -> set[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = path.relative_to(ROOT).as_posix()
    sites = set()
    funcs = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]

    def owner(node):                     # the innermost function around `node`
        around = [f for f in funcs if f.lineno <= node.lineno <= f.end_lineno]
        return max(around, key=lambda f: f.lineno) if around else None

    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else (
            node.func.attr if isinstance(node.func, ast.Attribute) else None)
        if name not in SQL_CALLS:
            continue
        arg = node.args[0]
        fn = owner(node)
        dynamic = _is_dynamic(arg)
        if not dynamic and isinstance(arg, ast.Name) and fn is not None:
            dynamic = any(isinstance(a, ast.Assign) and any(isinstance(t, ast.Name) and t.id == arg.id for t in a.targets)
                          and _is_dynamic(a.value) for a in ast.walk(fn))
        if dynamic and isinstance(arg, (ast.Name, ast.JoinedStr, ast.BinOp, ast.Call)):
            sites.add((rel, fn.name if fn is not None else "<module>"))
    return sites


def test_no_sql_is_built_from_text_outside_the_reviewed_places():
    found = set()
    for d in CODE_DIRS:
        for path in (ROOT / d).rglob("*.py"):
            if "migrations" not in path.parts:
                found |= _dynamic_sql_sites(path)
    unreviewed = {s for s in found if s not in REVIEWED_DYNAMIC_SQL and (s[0], "*") not in REVIEWED_DYNAMIC_SQL}
    assert not unreviewed, f"SQL text built with f-strings/%/format/+ — use parameters: {sorted(unreviewed)}"
    assert ("etl/load.py", "_pg_upsert") in found          # the scan does find what it looks for


def test_the_scan_catches_the_classic_mistakes(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from sqlalchemy import text\n"
        "def a(conn, name):\n    conn.execute(text(f\"SELECT * FROM cases WHERE township = '{name}'\"))\n"
        "def b(conn, name):\n    sql = \"SELECT * FROM cases WHERE township = '%s'\" % name\n    conn.execute(text(sql))\n"
        "def c(cur, name):\n    cur.execute(\"SELECT * FROM cases WHERE township = '{}'\".format(name))\n"
        "def ok(conn, name):\n    conn.execute(text('SELECT * FROM cases WHERE township = :t'), {'t': name})\n",
        encoding="utf-8")
    global ROOT
    saved, ROOT = ROOT, tmp_path
    try:
        assert {fn for _, fn in _dynamic_sql_sites(bad)} == {"a", "b", "c"}
    finally:
        ROOT = saved


PAYLOADS = ["=cmd|' /C calc'!A0", "+SUM(1,1)", "-2+3", "@SUM(A1)", "=HYPERLINK(\"http://x\",\"y\")"]


def test_formula_cells_from_a_loaded_csv_are_neutralised_in_downloads(sqlite_engine, tmp_path):
    """A cases export whose service items are formulas goes through the real ETL, an analytics
    export and the CSV/Excel download: no cell is a formula any more."""
    sample = config.SAMPLE_DIR
    src = pd.read_csv(sample / "exports" / "approval_cases.csv", encoding="utf-8-sig", nrows=200, dtype=str)
    src["事项名称"] = [PAYLOADS[i % len(PAYLOADS)] for i in range(len(src))]
    src.to_csv(tmp_path / "cases.csv", index=False, encoding="utf-8-sig")
    mapping = yaml.safe_load((sample / "mappings" / "approval_cases.yaml").read_text(encoding="utf-8"))
    mapping["source"]["path"] = "cases.csv"
    (tmp_path / "cases.yaml").write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    assert load_mapping(sqlite_engine, tmp_path / "cases.yaml").status == "loaded"
    df = run_export(sqlite_engine, "case-efficiency", Scope(dt.date(2024, 1, 1), dt.date(2026, 12, 31)),
                    by="service_item")
    assert set(df["service_item"]) == set(PAYLOADS)          # stored as the data said: the store is no spreadsheet

    csv_back = pd.read_csv(io.BytesIO(to_csv_bytes(df)), encoding="utf-8-sig", dtype=str)
    assert sorted(csv_back["service_item"]) == sorted("'" + p for p in PAYLOADS)
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(df)))
    cells = [c for row in wb.active.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    items = {c.value for c in cells if c.column == 1 and c.row > 1}
    assert items == {"'" + p for p in PAYLOADS}
    # numbers stay numbers (negative ones too): only text is prefixed
    assert all(isinstance(v, (int, float)) for v in csv_back.astype({"received": int})["received"])


def test_uploads_over_200_mb_are_refused_before_anything_is_written(sqlite_engine, tmp_path):
    from etl import upload
    assert upload.MAX_UPLOAD_BYTES == 200 * 1024 * 1024
    mapping = config.SAMPLE_DIR / "mappings" / "approval_cases.yaml"
    big = bytes(upload.MAX_UPLOAD_BYTES + 1)     # calloc'd zero pages: not resident, never copied
    with pytest.raises(LandDeskError, match="200 MB upload limit"):
        upload.load_upload(sqlite_engine, mapping, "cases.csv", big, upload_dir=tmp_path / "up")
    del big
    assert not (tmp_path / "up").exists()


@pytest.mark.parametrize("name", ["cases.exe", "cases.csv.exe", "cases.html", "cases.py", "cases", ".htaccess",
                                  "cases.xlsm"])
def test_uploads_of_other_types_are_refused(sqlite_engine, tmp_path, name):
    from etl import upload
    with pytest.raises(LandDeskError, match="not a file type"):
        upload.load_upload(sqlite_engine, config.SAMPLE_DIR / "mappings" / "approval_cases.yaml", name,
                           b"a,b\n1,2\n", upload_dir=tmp_path / "up")
    assert not (tmp_path / "up").exists()


def test_upload_file_names_cannot_escape_the_upload_folder(sqlite_engine, tmp_path):
    from etl import upload
    src = (config.SAMPLE_DIR / "exports" / "targets.csv").read_bytes()
    result = upload.load_upload(sqlite_engine, config.SAMPLE_DIR / "mappings" / "targets.yaml",
                                "../../../etc/cron.d/evil.csv", src, upload_dir=tmp_path / "up")
    assert result.status == "loaded"
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not p.name.startswith("store.db")]
    assert written and all((tmp_path / "up") in p.parents for p in written)
    assert not (tmp_path.parent / "etc").exists()


def test_secret_comes_from_the_environment_then_secrets_toml(tmp_path, monkeypatch):
    monkeypatch.delenv("LANDDESK_SECRET", raising=False)
    monkeypatch.delenv("LANDDESK_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(config, "REPO_ROOT", tmp_path / "nowhere")
    assert config.secret() == config.DEMO_SECRET.encode()
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(
        '[landdesk]\nsecret = "from-the-toml-file"\ndatabase_url = "postgresql://u:p@db/landdesk"\n', encoding="utf-8")
    assert config.secret() == b"from-the-toml-file"
    assert config.database_url() == "postgresql://u:p@db/landdesk"
    monkeypatch.setenv("LANDDESK_SECRET", "from-the-environment")
    assert config.secret() == b"from-the-environment"
    assert config.database_url("sqlite:///x.db") == "sqlite:///x.db"
    (tmp_path / ".streamlit" / "secrets.toml").write_text("[landdesk\n", encoding="utf-8")
    monkeypatch.delenv("LANDDESK_SECRET")
    with pytest.raises(LandDeskError, match="not a readable TOML"):
        config.secret()


def test_real_secrets_file_is_ignored_and_the_example_is_committed():
    gitignore = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ".streamlit/secrets.toml" in gitignore
    example = ROOT / ".streamlit" / "secrets.toml.example"
    doc = __import__("tomllib").loads(example.read_text(encoding="utf-8"))
    assert {"secret", "database_url"} <= set(doc["landdesk"])
    assert doc["landdesk"]["secret"] != config.DEMO_SECRET


# --- issue 16: hardening, round two -----------------------------------------------------------------------------

APP = str(ROOT / "dashboard" / "app.py")


def _apptest(page: str, params: dict | None = None, timeout: int = 180):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.switch_page(str(ROOT / "pages" / f"{page}.py"))
    at.run()
    return at


@pytest.fixture
def on_sample(sample_store_url, monkeypatch):
    monkeypatch.setenv("LANDDESK_DATABASE_URL", sample_store_url)
    monkeypatch.setenv("LANDDESK_BRIEFING_DIR", str(ROOT / "tests" / "_no_briefings_here"))
    return sample_store_url


def test_streamlit_own_table_download_is_off_in_the_app_and_in_serve(on_sample):
    """Finding 1: st.dataframe's toolbar "Download as CSV" (and clipboard copy) would export cells unneutralised
    and unaudited: the app switches it off for every session, and `landdesk serve` starts Streamlit with it off."""
    from streamlit import config as st_config

    from cli.main import serve_command
    st_config.set_option("client.disableDataExport", False)
    at = _apptest("cockpit", {"from": "2026-08-01", "to": "2026-10-31"})
    assert not at.exception
    assert at.dataframe, "the cockpit shows tables"
    assert st_config.get_option("client.disableDataExport") is True
    cmd, _ = serve_command(None, "127.0.0.1", 8501, True)
    assert cmd[cmd.index("--client.disableDataExport") + 1] == "true"


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(monkeypatch):
    """Finding 3: a client writing its own X-Forwarded-For must not choose its address (rate limit, lock-outs of
    others, audit addresses). Only a configured proxy's header counts, read from the right."""
    import ipaddress
    import types

    from dashboard import session
    proxy = (ipaddress.ip_network("10.0.0.5/32"),)
    assert session.resolve_client("203.0.113.9", "1.2.3.4", ()) == "203.0.113.9"          # default: nobody trusted
    assert session.resolve_client("203.0.113.9", "1.2.3.4", proxy) == "203.0.113.9"       # not from the proxy
    # through the proxy: the hop it appended is the client; what the client wrote to the left is ignored
    assert session.resolve_client("10.0.0.5", "6.6.6.6, 198.51.100.7", proxy) == "198.51.100.7"
    assert session.resolve_client("10.0.0.5", "198.51.100.7, 10.0.0.5", proxy) == "198.51.100.7"
    assert session.resolve_client("10.0.0.5", "<script>", proxy) == "10.0.0.5"
    assert session.resolve_client("127.0.0.1", "6.6.6.6", ()) == "127.0.0.1"
    assert session.resolve_client(None, "6.6.6.6", ()) is None

    # the setting: addresses and networks, a typo refused
    monkeypatch.setenv("LANDDESK_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16; ::1")
    assert [str(n) for n in config.settings().trusted_proxies] == ["10.0.0.5/32", "10.1.0.0/16", "::1/128"]
    assert "LANDDESK_TRUSTED_PROXIES" in config.VARIABLES
    monkeypatch.setenv("LANDDESK_TRUSTED_PROXIES", "proxy.local")
    with pytest.raises(LandDeskError, match="not an IP address"):
        config.settings()
    monkeypatch.delenv("LANDDESK_TRUSTED_PROXIES")
    assert config.settings().trusted_proxies == ()

    # a loopback connection has an address (st.context.ip_address says None for it): it is rate-limited too
    import streamlit.runtime.context as st_context
    monkeypatch.setattr(st_context, "_get_client_context", lambda: types.SimpleNamespace(remote_ip="127.0.0.1"))
    assert session._peer() == "127.0.0.1"


def test_a_loopback_client_is_locked_out_like_any_other(sqlite_engine):
    from service import auth
    auth.add_user(sqlite_engine, "alice", "analyst", "correct horse battery")
    for i in range(auth.MAX_FAILURES_PER_CLIENT):
        assert auth.authenticate(sqlite_engine, f"nobody{i}", "wrong password", "127.0.0.1") is None
    with pytest.raises(auth.SignInLocked):
        auth.authenticate(sqlite_engine, "alice", "correct horse battery", "127.0.0.1")


BAD_URLS = [
    {"to": "2099-01-01"}, {"to": "2026-12-31"}, {"from": "0001-01-01"}, {"from": "9999-12-31", "to": "0001-01-01"},
    {"from": "yesterday", "to": "2026-13-45"}, {"township": "不存在镇"}, {"case_type": "x" * 500},
    {"department": "'; DROP TABLE cases; --"}, {"unit": "parsecs"}, {"bn_view": "no such tab"},
]


@pytest.mark.parametrize("params", BAD_URLS, ids=lambda p: "&".join(f"{k}={v[:12]}" for k, v in p.items()))
def test_any_url_parameter_gives_a_corrected_view_and_a_notice(on_sample, params):
    """Finding 4: a shared link with a date outside the data (StreamlitValueAboveMaxError before) or any other
    value a widget cannot take: the page runs on corrected values and says so in one short notice."""
    at = _apptest("bottlenecks", params)
    assert not at.exception, [e.message for e in at.exception]
    notices = [w.value for w in at.warning if "link" in w.value.lower() or "链接" in w.value]
    assert len(notices) >= 1, [w.value for w in at.warning]
    assert at.title and at.title[0].value
    lo, hi = at.sidebar.date_input[0].min, at.sidebar.date_input[0].max
    start, end = at.sidebar.date_input[0].value
    assert lo <= start <= end <= hi


def test_the_url_parser_keeps_every_value_inside_what_the_widgets_take():
    from dashboard import params
    first, last, today = dt.date(2024, 1, 1), dt.date(2026, 10, 31), dt.date(2026, 11, 5)
    (s, e), notes = params.parse_period({}, first, last, today)
    assert (s, e) == (dt.date(2026, 10, 2), last) and not notes
    (s, e), notes = params.parse_period({"from": "0001-01-01", "to": "9999-12-31"}, first, last, today)
    assert (s, e) == (dt.date(2022, 12, 31), today) and [n.param for n in notes] == ["to", "from"]
    (s, e), notes = params.parse_period({"from": "2026-09-30", "to": "2026-09-01"}, first, last, today)
    assert (s, e) == (dt.date(2026, 9, 1), dt.date(2026, 9, 30)) and not notes
    (s, e), notes = params.parse_period({"to": "\x00<b>"}, None, None, today)
    assert s <= e == today and notes[0].used == today.isoformat()
    value, fix = params.parse_choice({"unit": "days"}, "unit", ("workdays", "days"), "workdays")
    assert value == "days" and fix is None
    value, fix = params.parse_choice({"township": "y" * 300}, "township", ("", "东坪镇"), "")
    assert value == "" and len(fix.quoted) <= params.QUOTE_LIMIT


def test_an_unexpected_error_shows_a_reference_never_a_traceback(on_sample, monkeypatch, caplog):
    """Finding 4: one error boundary per page: the error is logged server-side with a reference, the visitor sees
    one sentence with that reference and nothing of the exception (type, message, server paths); the served
    dashboard also runs with client.showErrorDetails = none."""
    from cli.main import serve_command
    from dashboard import data

    def broken(self, *a, **k):
        raise RuntimeError("secret detail /srv/landdesk/store.db")
    monkeypatch.setattr(data.Page, "export", broken)
    with caplog.at_level("ERROR", logger="landdesk.dashboard"):
        at = _apptest("cockpit", {"from": "2026-08-01", "to": "2026-10-31"})
    assert not at.exception
    shown = " ".join(str(getattr(e, "value", "")) for e in at.main if isinstance(getattr(e, "value", None), str))
    assert "secret detail" not in shown and "RuntimeError" not in shown and "/srv/" not in shown
    errors = [e.value for e in at.error]
    ref = [r for r in caplog.records if "page failed" in r.getMessage()]
    assert ref, "the error is logged server-side"
    ref_id = ref[0].getMessage().split("ref ")[1].split("]")[0]
    assert any(ref_id in e for e in errors), errors
    assert "secret detail" in caplog.text                 # the details are in the server's log
    cmd, _ = serve_command(None, "127.0.0.1", 8501, True)
    assert cmd[cmd.index("--client.showErrorDetails") + 1] == "none"


MARKDOWN_STAGE = "![t](http://host/x.png) :red[紧急]"


@pytest.fixture
def marked_store(sample_store_url, tmp_path, monkeypatch):
    """A copy of the sample store whose top bottleneck stage (Aug–Oct 2026) is named with Markdown."""
    import shutil

    from sqlalchemy import update

    from etl.schema import case_events
    from etl import marts
    from etl.store import make_engine
    src = sample_store_url.removeprefix("sqlite:///")
    dst = tmp_path / "marked.db"
    shutil.copy(src, dst)
    url = f"sqlite:///{dst.as_posix()}"
    eng = make_engine(url)
    top = run_export(eng, "bottlenecks", Scope(dt.date(2026, 8, 1), dt.date(2026, 10, 31)))["stage"].iloc[0]
    with eng.begin() as conn:
        conn.execute(update(case_events).where(case_events.c.stage == top).values(stage=MARKDOWN_STAGE))
        marts.rebuild(conn)         # a hand edit that keeps the row counts: `landdesk marts rebuild` (operations.md)
    from analytics.memo import clear_all
    clear_all()                     # the in-process memo keyed the store state before the rename
    monkeypatch.setenv("LANDDESK_DATABASE_URL", url)
    monkeypatch.setenv("LANDDESK_BRIEFING_DIR", str(tmp_path / "briefings"))
    yield eng
    eng.dispose()


def _markdown_bodies(at) -> list[str]:
    out = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "subheader", "title"):
        out += [e.value for e in at.get(kind) if isinstance(getattr(e, "value", None), str)]
    for m in at.metric:
        out += [m.label, m.value]
    return out


@pytest.mark.parametrize("page", ["cockpit", "bottlenecks"])
def test_data_values_are_shown_as_text_never_as_markdown(marked_store, page):
    """Finding 5: a stage named `![t](http://host/x.png) :red[紧急]` must not make a leader's browser fetch an
    outside image or show red text: the cockpit's top bottlenecks, the bottleneck card and the drill-down caption
    quote it through ui.text, which escapes it."""
    from dashboard.ui import text
    at = _apptest(page, {"from": "2026-08-01", "to": "2026-10-31"})
    assert not at.exception
    bodies = _markdown_bodies(at)
    assert any(text(MARKDOWN_STAGE) in b for b in bodies), "the stage is shown"
    for body in bodies:
        assert MARKDOWN_STAGE not in body, body
        if "紧急" in body:   # an image, a link or a :color[…] directive needs an unescaped "[", raw HTML a "<"
            assert not re.search(r"(?<!\\)[\[<]", body), body


def test_the_text_helper_escapes_every_markdown_construct():
    from dashboard.ui import text
    assert text(MARKDOWN_STAGE) == "\\!\\[t\\](http\\://host/x.png) \\:red\\[紧急\\]"
    assert text("<img src=x onerror=alert(1)>").startswith("\\<img")
    assert text("# big\n\n- item") == "\\# big - item"        # one line: only its start can open a block
    assert text("www.example.org") == "www\\.example.org"
    assert text("**bold** `code` ~~gone~~ $x^2$ | a | &lt;") == \
        "\\*\\*bold\\*\\* \\`code\\` \\~\\~gone\\~\\~ \\$x^2\\$ \\| a \\| \\&lt;"
    assert text(None) == "—" and text("东坪镇") == "东坪镇"


def test_the_briefing_shows_a_markdown_stage_as_text(marked_store):
    from briefing import build_briefing, render_html
    html = render_html(build_briefing(marked_store, "2026-W43", "zh"), charts=False)
    assert "紧急" in html
    assert 'src="http://host' not in html and "<img src=\"http" not in html


def _widget_script():
    import streamlit as st

    from dashboard.ui import count_slider, range_select
    case = st.session_state.get("case", "")
    low, high, value = {"equal": (1, 1, 1), "empty": (1, 0, 1), "wide": (1, 9, 50)}.get(case, (1, 5, 3))
    st.session_state["got_count"] = count_slider("edges", low, high, value, key="edges")
    options = {"none": [], "one": [2024], "two": [2020, 2024]}.get(case, [2019, 2020, 2021])
    st.session_state["got_range"] = range_select("years", options, (2019, 2021), key="years")


@pytest.mark.parametrize("case,count,years", [
    ("equal", 1, (2019, 2021)), ("empty", 1, (2019, 2021)), ("wide", 9, (2019, 2021)),
    ("none", 3, (None, None)), ("one", 3, (2024, 2024)), ("two", 3, (2020, 2024))])
def test_widgets_built_from_data_accept_degenerate_data(case, count, years):
    """Finding 10: a slider whose data has min = max (StreamlitInvalidMinMaxError before), no value or a default
    outside the range, and a year range with no year, one year or a default not among them."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_function(_widget_script)
    at.session_state["case"] = case
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["got_count"] == count and at.session_state["got_range"] == years
    at.session_state["years"] = (1990, 1991)          # a kept value from another township's years
    at.session_state["edges"] = 99
    at.run()
    assert not at.exception


@pytest.fixture
def one_case(sqlite_engine, sample_store_url, monkeypatch):
    """The sample county cut to one case whose stages never repeat: every directly-follows edge occurs once."""
    from sqlalchemy import insert, select

    from etl.schema import case_events, cases
    from etl.store import make_engine
    sample = make_engine(sample_store_url)
    with sample.connect() as src:
        events = pd.DataFrame([dict(r._mapping) for r in src.execute(
            select(case_events).where(case_events.c.completed_at >= dt.datetime(2026, 10, 1)).limit(4000))])
        per_case = events.groupby("case_id")["stage"].agg(lambda s: s.nunique() == len(s) and len(s) >= 3)
        cid = per_case[per_case].index[0]
        case = [dict(r._mapping, batch_id=None) for r in src.execute(select(cases).where(cases.c.case_id == cid))]
        evs = [dict(r._mapping, batch_id=None) for r in src.execute(
            select(case_events).where(case_events.c.case_id == cid))]
    sample.dispose()
    with sqlite_engine.begin() as conn:
        conn.execute(insert(cases), case)
        conn.execute(insert(case_events), evs)
    monkeypatch.setenv("LANDDESK_DATABASE_URL", sqlite_engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("LANDDESK_BRIEFING_DIR", str(ROOT / "tests" / "_no_briefings_here"))
    day = case[0]["received_at"].date()
    return day, max(e["completed_at"] for e in evs).date()


def test_the_process_map_of_a_period_where_every_edge_occurs_once(one_case):
    from landdesk.i18n import t
    start, end = one_case
    at = _apptest("bottlenecks", {"from": start.isoformat(), "to": end.isoformat(),
                                  "bn_view": t("bn_tab_map", "zh")})
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    from pmap_helpers import has_map
    assert has_map(at), "the process map is drawn"


def test_a_long_upload_name_is_checked_whole_before_it_is_cut(sqlite_engine, tmp_path):
    """Finding 11: the name used to be cut to 120 characters before the type check, so `x…x.csv.exe` whose cut
    ended in `.csv` passed as a CSV."""
    from etl import upload
    mapping = config.SAMPLE_DIR / "mappings" / "approval_cases.yaml"
    sneaky = "x" * (upload.MAX_NAME - 4) + ".csv" + ".exe"
    with pytest.raises(LandDeskError, match="not a file type"):
        upload.load_upload(sqlite_engine, mapping, sneaky, b"a,b\n1,2\n", upload_dir=tmp_path / "up")
    assert not (tmp_path / "up").exists()
    long_ok = "y" * 300 + ".csv"
    assert upload._safe_name(long_ok).endswith(".csv") and len(upload._safe_name(long_ok)) == upload.MAX_NAME
    assert upload._safe_name("z" * 300 + ".xes.gz").endswith(".xes.gz")


def test_a_refused_binary_upload_does_not_stay_on_disk(sqlite_engine, tmp_path):
    from etl import upload
    mapping = config.SAMPLE_DIR / "mappings" / "approval_cases.yaml"
    garbage = (ROOT / "tests" / "bad_input" / "binary_garbage.csv").read_bytes()
    try:
        result = upload.load_upload(sqlite_engine, mapping, "cases.csv", garbage, upload_dir=tmp_path / "up")
    except LandDeskError:
        result = None
    assert result is None or result.status == "failed"
    left = [p.name for p in (tmp_path / "up").rglob("*") if p.is_file() and not p.name.endswith(".upload.yaml")]
    assert left == [], left


@pytest.mark.parametrize("lang,words", [("zh", "暂时无法连接数据库"), ("en", "cannot be reached right now")])
def test_postgresql_down_is_one_sentence_in_the_session_language_without_the_password(monkeypatch, lang, words):
    """Finding 11: the store-down message came in English only; it must never include the password."""
    monkeypatch.setenv("LANDDESK_DATABASE_URL", "postgresql://landdesk:Sup3rSecretPw@127.0.0.1:1/landdesk")
    at = _apptest("cockpit", {"lang": lang}, timeout=60)
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and words in errors[0], errors
    everything = " ".join(str(getattr(e, "value", "")) for e in at.main) + " ".join(errors)
    assert "Sup3rSecretPw" not in everything and "\\*\\*\\*@127.0.0.1" in errors[0]   # masked (as text)


def _fuzz_pages():
    from landdesk.pages import PAGES, STAFF_PAGES
    return [p for p in STAFF_PAGES if p in PAGES] + ["audit", "users"]


def test_every_page_survives_fuzzed_url_parameters(on_sample):
    """Beyond the review: random and boundary values for every URL parameter of every page (dates across
    Python's whole range, garbage, unknown and injected values, tabs that exist and do not) through AppTest:
    no exception reaches the page, and the period shown is inside the picker's bounds. Bounded: ~20 examples."""
    from hypothesis import HealthCheck, given, settings as hsettings, strategies as s

    from analytics.periods import PRESETS
    from dashboard.ui import page_views
    from landdesk.i18n import t
    pages = _fuzz_pages()
    junk = s.one_of(s.text(max_size=30), s.sampled_from(["", " ", "\x00", "<script>", "' OR 1=1 --", "![x](http://h/x)",
                                                        ":red[x]", "9" * 40, "NaN", "-1", "∞", "城关镇", "东坪镇"]))
    dates = s.one_of(s.dates().map(dt.date.isoformat), junk,
                     s.sampled_from(["0001-01-01", "9999-12-31", "2099-01-01", "2026-12-31", "2024-02-29"]))

    def view_param(page):
        param, keys = page_views(page)
        if not param:
            return s.just({})
        return s.one_of(s.just({}), s.sampled_from(keys).map(lambda k: {param: t(k, "zh")}),
                        junk.map(lambda v: {param: v}))

    params = s.sampled_from(pages).flatmap(lambda page: s.tuples(s.just(page), s.fixed_dictionaries({}, optional={
        "from": dates, "to": dates, "preset": s.one_of(junk, s.sampled_from(list(PRESETS))),
        "compare": s.one_of(junk, s.sampled_from(["previous", "year"])), "township": junk, "case_type": junk, "department": junk,
        "unit": s.one_of(junk, s.sampled_from(["workdays", "days", "hours"])),
        "area": s.one_of(junk, s.just("mu")), "lang": s.one_of(junk, s.sampled_from(["zh", "en"]))}), view_param(page)))

    seen = []

    @hsettings(max_examples=20, deadline=None, derandomize=True, database=None,
               suppress_health_check=list(HealthCheck))
    @given(params)
    def check(case):
        page, query, view = case
        query = {k: v for k, v in {**query, **view}.items() if "\x00" not in v}   # a URL cannot carry NUL
        at = _apptest(page, query, timeout=120)
        assert not at.exception, (page, query, [e.message for e in at.exception])
        seen.append(page)
        if at.sidebar.date_input:
            d = at.sidebar.date_input[0]
            value = d.value if isinstance(d.value, (tuple, list)) else (d.value,)
            assert all(d.min <= v <= d.max for v in value), (page, query, value)
    check()
    assert len(set(seen)) >= 4


def test_sign_in_download_and_disable_concurrently(sqlite_engine, monkeypatch):
    """Beyond the review: sign-ins and clicks on an on-screen download run in threads while an admin disables the
    account. Nothing but a refusal ever goes wrong, every operation that starts after the disable has returned is
    refused, and the audit log holds exactly one `download` row per file served."""
    import threading
    import time

    from argon2 import PasswordHasher

    from dashboard import data
    from service import audit, auth
    from service.access import AccessDenied
    monkeypatch.setenv("LANDDESK_AUTH", "signin")
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    password = "青山-correct horse 42"
    auth.add_user(sqlite_engine, "busy", "leader", password)
    who = auth.authenticate(sqlite_engine, "busy", password, "10.0.0.1")
    monkeypatch.setattr(data, "_who", lambda: (who, "10.0.0.1"))
    monkeypatch.setattr(data, "engine", lambda: sqlite_engine)
    click = data.deferred_download(lambda: to_csv_bytes(pd.DataFrame({"a": [1, 2]})), "t.csv", rows=2)

    log, errors, disabled_at = [], [], []
    stop = threading.Event()

    def signer():
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                ok = auth.authenticate(sqlite_engine, "busy", password, "10.0.0.2") is not None
            except auth.SignInLocked:
                ok = False
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
                return
            log.append(("sign_in", t0, ok))

    def downloader():
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                ok = bool(click())
            except AccessDenied:
                ok = False
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
                return
            log.append(("download", t0, ok))

    threads = [threading.Thread(target=f) for f in (signer, signer, downloader, downloader, downloader)]
    for th in threads:
        th.start()
    time.sleep(1.0)
    auth.set_active(sqlite_engine, "busy", False, by="root")
    disabled_at.append(time.monotonic())
    time.sleep(1.0)
    stop.set()
    for th in threads:
        th.join(30)
    assert not errors, errors[:3]
    before = [ok for kind, t0, ok in log if t0 < disabled_at[0] and kind == "download"]
    after = [(kind, ok) for kind, t0, ok in log if t0 > disabled_at[0]]
    assert before and any(before), "downloads were served before the disable"
    assert after and not any(ok for _, ok in after), [a for a in after if a[1]][:5]
    served = sum(ok for kind, _, ok in log if kind == "download")
    assert len(audit.recent(sqlite_engine, 100000, action="download")) == served
