"""The `landdesk` command line end to end, as a newcomer or cron would run it (subprocesses)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from etl.mapping import DEFAULT_REALDATA

ROOT = Path(__file__).resolve().parent.parent
RECEIPT = ROOT / "sample_data" / "mappings" / "real" / "receipt.yaml"


def landdesk(*args, db=None):
    cmd = [sys.executable, "-m", "cli.main", *args] + (["--db", db] if db else [])
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{(tmp_path / 'cli.db').as_posix()}"


def test_db_upgrade_is_safe_to_run_twice(db):
    first, second = landdesk("db", "upgrade", db=db), landdesk("db", "upgrade", db=db)
    assert first.returncode == second.returncode == 0
    from test_migrations import head
    assert f"revision {head()}" in second.stdout       # the newest migration, whichever it is


@pytest.mark.realdata
@pytest.mark.skipif(not (Path(DEFAULT_REALDATA) / "receipt").exists(), reason="../shared/realdata/receipt is absent")
def test_receipt_load_reports_counts_and_second_run_adds_none(db):
    landdesk("db", "upgrade", db=db)
    first = landdesk("etl", "load", str(RECEIPT), "--quiet", db=db)
    assert first.returncode == 0, first.stderr
    assert "8577 loaded (1434 cases)" in first.stdout
    second = landdesk("etl", "load", str(RECEIPT), "--quiet", db=db)
    assert second.returncode == 0 and "skipped" in second.stdout
    batches = json.loads(landdesk("etl", "batches", "--format", "json", db=db).stdout)
    assert [b["rows_loaded"] for b in batches] == [0, 8577]


@pytest.mark.parametrize("content, words", [
    ("dataset: [", "malformed"),
    ("dataset: cases\nsource: {path: nothere.csv}\ncolumns: {case_id: a, received_at: b}\n", "nothere.csv"),
    ("dataset: parcels\nsource: {path: x.csv}\n", "parcels"),
])
def test_bad_mapping_is_one_sentence_and_store_unchanged(db, tmp_path, content, words):
    landdesk("db", "upgrade", db=db)
    mapping = tmp_path / "bad.yaml"
    mapping.write_text(content, encoding="utf-8")
    r = landdesk("etl", "load", str(mapping), db=db)
    assert r.returncode == 2
    assert words in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    batches = landdesk("etl", "batches", "--format", "json", db=db).stdout
    assert all(b["rows_loaded"] == 0 for b in json.loads(batches))


def test_unreachable_store_and_missing_schema_are_one_sentence(db):
    r = landdesk("export", "kpis", db="postgresql://nobody@127.0.0.1:1/none")
    assert r.returncode == 2 and "Cannot reach the store" in r.stderr and "Traceback" not in r.stderr
    r = landdesk("export", "kpis", db=db)
    assert r.returncode == 2 and "landdesk db upgrade" in r.stderr


def test_demo_store_and_kpi_export(db):
    r = landdesk("demo", "--no-serve", db=db)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("loaded") >= 6
    out = landdesk("export", "kpis", "--from", "2026-10-01", "--to", "2026-10-31", "--format", "json", db=db)
    rows = {row["kpi"]: row for row in json.loads(out.stdout)}
    assert rows["cases_received"]["value"] > 0
    assert 0 < rows["on_time_rate"]["value"] <= 1
    assert rows["on_time_rate"]["target"] == 0.95
    again = landdesk("demo", "--no-serve", db=db)
    assert again.stdout.count("skipped") >= 6
    listing = landdesk("export", "--list").stdout
    assert "kpis" in listing and "weekly-flow" in listing
    assert landdesk("export", "nope", db=db).returncode == 2


def test_export_period_presets_and_comparison(db):
    """--period this_month --compare year: the month to date of --to against the same days a year earlier;
    --period with --from is refused in one sentence."""
    assert landdesk("demo", "--no-serve", db=db).returncode == 0
    out = landdesk("export", "kpis", "--to", "2026-10-20", "--period", "this_month", "--compare", "year",
                   "--format", "json", db=db)
    assert out.returncode == 0, out.stderr
    rows = {row["kpi"]: row for row in json.loads(out.stdout)}
    assert (rows["cases_received"]["period_start"], rows["cases_received"]["period_end"]) == ("2026-10-01", "2026-10-20")
    assert (rows["cases_received"]["baseline_start"], rows["cases_received"]["baseline_end"]) == ("2025-10-01", "2025-10-20")
    last_year = landdesk("export", "kpis", "--from", "2025-10-01", "--to", "2025-10-20", "--format", "json", db=db)
    ly = {row["kpi"]: row for row in json.loads(last_year.stdout)}
    assert rows["cases_received"]["previous"] == ly["cases_received"]["value"]
    mom = landdesk("export", "kpis", "--to", "2026-10-20", "--period", "this_month", "--format", "json", db=db)
    assert json.loads(mom.stdout)[0]["baseline_start"] == "2026-09-01"
    both = landdesk("export", "kpis", "--period", "ytd", "--from", "2026-01-01", db=db)
    assert both.returncode == 2 and "either --period or --from" in both.stderr and "Traceback" not in both.stderr


@pytest.mark.parametrize("cmd", [[], ["demo"], ["serve"], ["db", "upgrade"], ["etl", "load"], ["etl", "run"],
                                 ["etl", "batches"], ["etl", "rejects"], ["export"], ["forecast"], ["briefing"],
                                 ["sample", "generate"], ["api"], ["tokens", "add"], ["tokens", "list"],
                                 ["tokens", "revoke"], ["deliver"], ["alerts"], ["alerts", "check"], ["marts", "rebuild"]])
def test_every_help_page_renders(cmd):
    r = landdesk(*cmd, "--help")
    assert r.returncode == 0 and "usage: landdesk" in r.stdout and "Traceback" not in r.stderr


def test_cli_auditing_is_best_effort_on_a_store_without_the_audit_log(db):
    """A store whose audit log is missing (not upgraded): the load still succeeds with exit code 0 and a one-line
    warning; `export` likewise. On an upgraded store the same commands write their audit rows."""
    from sqlalchemy import text

    from etl.store import make_engine
    from service import audit
    petitions = ROOT / "sample_data" / "mappings" / "petitions.yaml"
    assert landdesk("db", "upgrade", db=db).returncode == 0
    ok = landdesk("etl", "load", str(petitions), "--quiet", db=db)
    assert ok.returncode == 0, ok.stderr
    engine = make_engine(db)
    assert "etl_run" in set(audit.recent(engine, 10)["action"])
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE audit_log"))
    engine.dispose()
    load = landdesk("etl", "load", str(petitions), "--quiet", "--force", db=db)
    assert load.returncode == 0, load.stderr
    warnings = [line for line in load.stderr.splitlines() if "warning: not audited" in line]
    assert len(warnings) == 1 and "no audit log yet" in warnings[0]
    assert "loaded" in load.stdout or "skipped" in load.stdout
    export = landdesk("export", "petitions", "--from", "2026-08-01", "--to", "2026-10-31", db=db)
    assert export.returncode == 0, export.stderr
    assert "warning: not audited" in export.stderr


@pytest.fixture(scope="module")
def sample_db(sample_store_url, tmp_path_factory):
    import shutil
    dst = tmp_path_factory.mktemp("cli-sample") / "sample.db"
    shutil.copy(sample_store_url.removeprefix("sqlite:///"), dst)
    return f"sqlite:///{dst.as_posix()}"


def _one_sentence(r, code=2):
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    return r.stderr


@pytest.mark.parametrize("args", [["--from", "0001-01-01"], ["--to", "9999-12-31"], ["--from", "2026-13-01"]])
def test_out_of_range_dates_are_one_sentence(sample_db, args):
    """Finding 8: --from 0001-01-01 / --to 9999-12-31 ended in an OverflowError traceback."""
    err = _one_sentence(landdesk("export", "kpis", *args, db=sample_db))
    assert "--help" in err


def test_unwritable_briefing_folder_and_missing_driver_are_one_sentence(sample_db):
    err = _one_sentence(landdesk("briefing", "--out", "/proc/nope", "--format", "html", "--quiet", db=sample_db))
    assert "/proc/nope" in err
    err = _one_sentence(landdesk("export", "kpis", db="mysql://bureau:s3cret@dbhost/landdesk"))
    assert "driver" in err and "s3cret" not in err


@pytest.mark.parametrize("cmd", [["export", "kpis"], ["etl", "batches"], ["audit"], ["users", "list"],
                                 ["briefing", "--format", "html"]])
def test_read_only_commands_never_create_a_store(tmp_path, cmd):
    """Finding 8: `export` given a mistyped SQLite path created the folder and an empty database."""
    missing = tmp_path / "typo" / "landesk.db"
    err = _one_sentence(landdesk(*cmd, db=f"sqlite:///{missing.as_posix()}"))
    assert "no store at" in err
    assert not missing.parent.exists()


@pytest.mark.parametrize("flag,value", [("--township", "东坪"), ("--case-type", "不动产登记"), ("--department", "nope"),
                                        ("--system", "审批系")])
def test_an_unknown_filter_value_says_which_exist(sample_db, flag, value):
    """Finding 8: a typo gave zeros and exit 0, reading as "no cases"."""
    err = _one_sentence(landdesk("export", "kpis", flag, value, db=sample_db))
    assert value in err and "the values there are" in err
    ok = landdesk("export", "kpis", "--township", "东坪镇", "--from", "2026-10-01", "--to", "2026-10-31", db=sample_db)
    assert ok.returncode == 0, ok.stderr


def test_a_failed_load_exits_2_from_etl_load_and_etl_run_alike(db, tmp_path):
    """One exit-code convention: a failed load is bad input (2) whichever command ran it."""
    assert landdesk("db", "upgrade", db=db).returncode == 0
    (tmp_path / "bad.csv").write_text("x\n1\n", encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("dataset: cases\nsource:\n  path: bad.csv\ncolumns:\n  case_id: nope\n",
                                       encoding="utf-8")
    (tmp_path / "sources.yaml").write_text("sources:\n  - bad.yaml\n", encoding="utf-8")
    load = landdesk("etl", "load", str(tmp_path / "bad.yaml"), "--quiet", db=db)
    run = landdesk("etl", "run", str(tmp_path / "sources.yaml"), "--quiet", db=db)
    assert load.returncode == run.returncode == 2, (load.stderr, run.stdout, run.stderr)
    assert "Traceback" not in load.stderr + run.stderr


def test_a_missing_mapping_in_sources_is_named_in_one_sentence(db, tmp_path):
    """A sources list naming a mapping file that is not there: the run says which, exits 2 (it said
    "no batch failed ? from : …")."""
    assert landdesk("db", "upgrade", db=db).returncode == 0
    (tmp_path / "sources.yaml").write_text("sources:\n  - reference/gone.yaml\n", encoding="utf-8")
    run = landdesk("etl", "run", str(tmp_path / "sources.yaml"), db=db)
    assert run.returncode == 2 and "Traceback" not in run.stdout + run.stderr
    out = run.stdout + run.stderr
    assert "gone.yaml was not loaded: " in out and "does not exist" in out and "?" not in out, out
