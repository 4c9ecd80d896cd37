"""The exchange interface (`landdesk api`) over real HTTP: a server on 127.0.0.1 (a `landdesk api` subprocess, or
uvicorn in a thread where a test changes the store or the rate limit) and a plain HTTP client. Every export
equals the command line's output for the same parameters; tokens, township scope and the public disclosure
rules hold; bad parameters are problem details; ETag/304; twenty parallel clients."""
from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from analytics.exports import registry
from etl.store import make_engine
from service import audit, tokens

ROOT = Path(__file__).resolve().parent.parent
PERIOD = {"from": "2026-08-01", "to": "2026-10-31"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(base: str, path: str, token: str | None = None, headers: dict | None = None, method: str = "GET",
        **query):
    """(status, headers, body bytes) of one real HTTP request."""
    from urllib.parse import urlencode
    url = base + path + (("?" + urlencode(query)) if query else "")
    req = urllib.request.Request(url, method=method, headers=dict(headers or {}))
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def wait_up(base: str, proc=None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the API server exited: {proc.stderr.read()}")
        try:
            if get(base, "/api/v1/health")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the API server did not come up in 60 s")


class ThreadServer:
    """uvicorn serving `app` in a thread on a free loopback port."""

    def __init__(self, app):
        import uvicorn
        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.base = f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        wait_up(self.base)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=30)


def copy_store(sample_store_url: str, folder: Path) -> str:
    dst = folder / "api.db"
    shutil.copy(sample_store_url.removeprefix("sqlite:///"), dst)
    return f"sqlite:///{dst.as_posix()}"


@pytest.fixture(scope="module")
def store(sample_store_url, tmp_path_factory):
    return copy_store(sample_store_url, tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def tok(store):
    engine = make_engine(store)
    out = {role: tokens.add_token(engine, f"t-{role}", role) for role in ("admin", "leader", "public")}
    out["officer"] = tokens.add_token(engine, "t-dongping", "township_officer", township="东坪镇")
    out["revoked"] = tokens.add_token(engine, "t-revoked", "leader")
    tokens.revoke_token(engine, "t-revoked")
    out["expired"] = tokens.add_token(engine, "t-expired", "leader", expires_days=1,
                                      now=audit.now() - __import__("datetime").timedelta(days=3))
    engine.dispose()
    return out


@pytest.fixture(scope="module")
def api(store, tok):
    """`landdesk api` itself, in a subprocess, on a free port."""
    port = free_port()
    env = dict(__import__("os").environ, LANDDESK_API_RATE_LIMIT="100000", LANDDESK_AUTH="signin")
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "api", "--db", store, "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_up(base, proc)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def cli_json(capsys, store, name, *args) -> list:
    """What `landdesk export NAME … --format json` prints, run through the command line's own main()."""
    from cli.main import main
    capsys.readouterr()
    assert main(["export", name, *args, "--format", "json", "--db", store]) == 0
    return json.loads(capsys.readouterr().out)


def cli_csv(capsys, store, name, *args) -> str:
    from cli.main import main
    capsys.readouterr()
    assert main(["export", name, *args, "--format", "csv", "--db", store]) == 0
    return capsys.readouterr().out


def data(base, name, token, **query):
    status, headers, body = get(base, f"/api/v1/exports/{name}", token, **query)
    assert status == 200, body
    return json.loads(body)


# --- equal to the command line -------------------------------------------------------------------

@pytest.mark.slow
def test_every_export_equals_the_command_line(api, store, tok, capsys):
    names = list(registry())
    assert len(names) >= 10
    for name in names:
        got = data(api, name, tok["admin"], **PERIOD)
        want = cli_json(capsys, store, name, "--from", PERIOD["from"], "--to", PERIOD["to"])
        assert got["data"] == want, name
        assert got["meta"]["rows"] == len(want) and got["meta"]["period"] == PERIOD


def test_default_period_breakdowns_units_and_csv_equal_the_command_line(api, store, tok, capsys):
    kpis = data(api, "kpis", tok["leader"])
    assert kpis["data"] == cli_json(capsys, store, "kpis")
    meta = kpis["meta"]
    assert meta["period"]["to"] == meta["data_end"] and meta["units"]["time"] == "workdays"
    assert {"name": "kpi", "type": "string"} in meta["fields"] and meta["definition"].endswith("#export-kpis")
    got = data(api, "case-efficiency", tok["leader"], by="township", time_unit="hours", **PERIOD)
    assert got["data"] == cli_json(capsys, store, "case-efficiency", "--by", "township", "--time-unit", "hours",
                                   "--from", PERIOD["from"], "--to", PERIOD["to"])
    status, headers, body = get(api, "/api/v1/exports/kpis", tok["leader"], format="csv", township="东坪镇", **PERIOD)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert body.decode("utf-8") == cli_csv(capsys, store, "kpis", "--township", "东坪镇", "--from", PERIOD["from"],
                                           "--to", PERIOD["to"])


def test_a_landdesk_export_subprocess_prints_what_the_api_serves(api, store, tok):
    r = subprocess.run([sys.executable, "-m", "cli.main", "export", "petitions", "--by", "topic", "--from",
                        PERIOD["from"], "--to", PERIOD["to"], "--format", "csv", "--db", store],
                       capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr
    status, _, body = get(api, "/api/v1/exports/petitions", tok["leader"], by="topic", format="csv", **PERIOD)
    assert status == 200 and body.decode("utf-8") == r.stdout and r.stdout.count("\n") > 2


# --- tokens, scope and the public -----------------------------------------------------------------

def problem(status_headers_body, status):
    code, headers, body = status_headers_body
    assert code == status, body
    assert headers["Content-Type"].startswith("application/problem+json")
    doc = json.loads(body)
    assert doc["status"] == status and doc["title"] and doc["detail"]
    assert "Traceback" not in doc["detail"] and "\n" not in doc["detail"]
    return doc


@pytest.mark.parametrize("which", [None, "garbage", "revoked", "expired"])
def test_no_unknown_revoked_or_expired_token_is_401(api, tok, which):
    token = {None: None, "garbage": "ldt_not-a-token"}.get(which, tok.get(which))
    for path in ("/api/v1/exports", "/api/v1/exports/kpis", "/api/v1/catalogue"):
        result = get(api, path, token)
        assert "Bearer" in result[1].get("WWW-Authenticate", "")
        assert "API token" in problem(result, 401)["detail"]


def test_a_township_token_sees_only_its_township(api, store, tok, capsys):
    own = cli_json(capsys, store, "kpis", "--township", "东坪镇", "--from", PERIOD["from"], "--to", PERIOD["to"])
    county = cli_json(capsys, store, "kpis", "--from", PERIOD["from"], "--to", PERIOD["to"])
    assert own != county
    got = data(api, "kpis", tok["officer"], **PERIOD)
    assert got["data"] == own and got["meta"]["scope"]["township"] == "东坪镇"
    forced = data(api, "kpis", tok["officer"], township="西河镇", **PERIOD)      # another township asked for
    assert forced["data"] == own
    cases = data(api, "cases", tok["officer"], **PERIOD)["data"]
    assert cases and {c["township"] for c in cases} == {"东坪镇"}
    engine = make_engine(store)
    log = audit.recent(engine, 50, username="api:t-dongping")
    engine.dispose()
    assert "scope_forced" in set(log["action"])
    reads = [json.loads(d) for a, d in zip(log["action"], log["detail"]) if a == "export"]
    assert any(r["export"] == "cases" and r["rows"] == len(cases) and r["township"] == "东坪镇" for r in reads)


def test_a_public_token_sees_only_the_suppressed_disclosure_exports(api, store, tok):
    from analytics.scope import Scope
    import datetime as dt
    from service import results
    from service.auth import PUBLIC
    assert "kpis" in problem(get(api, "/api/v1/exports/kpis", tok["public"], **PERIOD), 403)["detail"]
    problem(get(api, "/api/v1/exports/case-efficiency", tok["public"], township="东坪镇", **PERIOD), 403)
    listed = json.loads(get(api, "/api/v1/exports", tok["public"])[2])["exports"]
    assert {e["name"] for e in listed} == {"case-efficiency", "petitions"}
    got = data(api, "case-efficiency", tok["public"], by="service_item", **PERIOD)
    engine = make_engine(store)
    scope = Scope(dt.date(2026, 8, 1), dt.date(2026, 10, 31))
    want = results.records(results.read(engine, "case-efficiency", scope, by="service_item", principal=PUBLIC,
                                        audited=False))
    engine.dispose()
    assert got["data"] == want and got["meta"]["suppressed_cells"] > 0
    assert any(row["suppressed"] for row in got["data"])


# --- problem details ------------------------------------------------------------------------------

@pytest.mark.parametrize("query, words", [
    ({"from": "2026-13-01"}, "not a date"),
    ({"to": "9999-12-31"}, "outside the dates"),
    ({"township": "东坪"}, "does not occur in the store"),
    ({"department": "nope"}, "does not occur in the store"),
    ({"by": "colour"}, "cannot be broken down"),
    ({"time_unit": "weeks"}, "not a time unit"),
    ({"format": "xml"}, "format"),
    ({"frm": "2026-01-01"}, "Unknown parameter"),
    ({"from": "2026-10-31", "to": "2026-10-01"}, "is before"),
])
def test_bad_parameters_are_problem_details_with_the_command_lines_sentence(api, tok, query, words):
    doc = problem(get(api, "/api/v1/exports/kpis", tok["leader"], **query), 400)
    assert words in doc["detail"] and doc["instance"] == "/api/v1/exports/kpis"


def test_unknown_export_path_and_method_are_problem_details(api, tok):
    assert "no export named" in problem(get(api, "/api/v1/exports/nope", tok["leader"]), 404)["detail"]
    problem(get(api, "/api/v2/anything", tok["leader"]), 404)
    assert "read-only" in problem(get(api, "/api/v1/exports/kpis", tok["leader"], method="POST"), 405)["detail"]


# --- catalogue, health, documentation ---------------------------------------------------------------

def test_catalogue_health_and_docs(api, store, tok):
    from etl.catalogue import catalogue
    status, _, body = get(api, "/api/v1/catalogue", tok["analyst"] if "analyst" in tok else tok["leader"])
    assert status == 200
    doc = json.loads(body)
    engine = make_engine(store)
    want = catalogue(engine).set_index("dataset")["rows"].to_dict()
    engine.dispose()
    assert {d["dataset"]: d["rows"] for d in doc["datasets"]} == want and want["cases"] > 0
    assert {"dataset": "cases", "field": "case_id"}.items() <= next(
        f for f in doc["fields"] if f["field"] == "case_id" and f["dataset"] == "cases").items()
    public = json.loads(get(api, "/api/v1/catalogue", tok["public"])[2])["datasets"]
    assert "source" not in public[0] and "rows" in public[0]
    status, _, body = get(api, "/api/v1/health")
    assert status == 200 and json.loads(body)["status"] == "ok"
    spec = json.loads(get(api, "/api/v1/openapi.json")[2])
    assert spec["openapi"].startswith("3.") and "/api/v1/exports/{name}" in spec["paths"]
    assert set(spec["paths"]["/api/v1/exports/{name}"]["get"]["parameters"][0]["schema"]["enum"]) == set(registry())
    status, headers, page = get(api, "/api/v1/docs")
    page = page.decode("utf-8")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "id='export-kpis'" in page and "<script" not in page and "cdn" not in page.lower()


def test_twenty_parallel_clients_get_the_same_answers_without_error(api, tok):
    want = {name: data(api, name, tok["leader"], **PERIOD)["data"] for name in ("kpis", "petitions")}

    def client(i):
        name = ("kpis", "petitions")[i % 2]
        out = []
        for _ in range(3):
            status, _, body = get(api, f"/api/v1/exports/{name}", tok["leader"], **PERIOD)
            out.append((name, status, json.loads(body)["data"] if status == 200 else body))
        return out

    with ThreadPoolExecutor(20) as pool:
        answers = [a for batch in pool.map(client, range(20)) for a in batch]
    assert len(answers) == 60
    assert all(status == 200 and got == want[name] for name, status, got in answers)


# --- caching and the rate limit (their own store and server: they change state) ---------------------

def test_etag_gives_304_until_a_load_changes_the_store(sample_store_url, tmp_path):
    from api.app import create_app
    from etl.undo import undo_batch
    from etl.load import list_batches
    url = copy_store(sample_store_url, tmp_path)
    engine = make_engine(url)
    token = tokens.add_token(engine, "poller", "leader")
    with ThreadServer(create_app(engine, rate_limit=1000)) as srv:
        status, headers, body = get(srv.base, "/api/v1/exports/petitions", token, **PERIOD)
        etag = headers["ETag"]
        assert status == 200 and etag and headers["Cache-Control"] == "private, no-cache"
        again = get(srv.base, "/api/v1/exports/petitions", token, {"If-None-Match": etag}, **PERIOD)
        assert again[0] == 304 and again[1]["ETag"] == etag and again[2] == b""
        other = get(srv.base, "/api/v1/exports/petitions", token, {"If-None-Match": etag}, time_unit="days",
                    **PERIOD)
        assert other[0] == 200 and other[1]["ETag"] != etag           # other parameters, another tag
        batches = list_batches(engine, limit=50)
        petitions_batch = int(batches[batches["dataset"] == "petitions"]["batch_id"].max())
        undo_batch(engine, petitions_batch, force=True)              # the store changes
        after = get(srv.base, "/api/v1/exports/petitions", token, {"If-None-Match": etag}, **PERIOD)
        assert after[0] == 200 and after[1]["ETag"] != etag and after[2] != body
    assert "api_read" in set(audit.recent(engine, 20, username="api:poller")["action"])
    engine.dispose()


def test_the_rate_limit_is_per_token_and_says_when_to_retry(sample_store_url, tmp_path):
    from api.app import create_app
    engine = make_engine(copy_store(sample_store_url, tmp_path))
    a, b = tokens.add_token(engine, "a", "leader"), tokens.add_token(engine, "b", "leader")
    with ThreadServer(create_app(engine, rate_limit=3)) as srv:
        codes = [get(srv.base, "/api/v1/exports", a)[0] for _ in range(3)]
        assert codes == [200, 200, 200]
        over = get(srv.base, "/api/v1/exports", a)
        doc = problem(over, 429)
        assert int(over[1]["Retry-After"]) >= 1 and "3 requests" in doc["detail"]
        assert get(srv.base, "/api/v1/exports", b)[0] == 200          # another token has its own count
    engine.dispose()


def test_named_periods_and_comparison_over_http(api, store, tok, capsys):
    """?period=this_month&compare=year: the same frame as `landdesk export kpis --period this_month --compare year`;
    an unknown comparison is a problem detail naming the allowed values."""
    body = data(api, "kpis", tok["leader"], to="2026-10-20", period="this_month", compare="year")
    assert body["meta"]["period"] == {"from": "2026-10-01", "to": "2026-10-20"} and body["meta"]["compare"] == "year"
    assert body["data"] == cli_json(capsys, store, "kpis", "--to", "2026-10-20", "--period", "this_month",
                                    "--compare", "year")
    status, _, bad = get(api, "/api/v1/exports/kpis", tok["leader"], compare="mom")
    assert status == 400 and "is not one of previous, year" in json.loads(bad)["detail"]
