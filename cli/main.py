"""The `landdesk` command line: demo, serve, db, etl, export, briefing, deliver, alerts, sample.

Exit codes, the same for every command (README.md): 0 done; 2 the command could not do what was asked because
of its input — a bad argument or value, an unknown township, an unreadable or malformed file or mapping, a load
that failed, an output folder that cannot be written, a store that is missing, unreachable or needs a driver that
is not installed; 1 an unexpected internal error (one sentence, no traceback: please report it); 130
interrupted. Every failure is one sentence on stderr."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from landdesk.errors import LandDeskError
from landdesk.resources import SAMPLE_DIR, SERVER_PATH
from landdesk.settings import database_url
from analytics.periods import COMPARES, DEFAULT_COMPARE, PRESET_GRAIN, PRESETS


#: Exit codes (module docstring, README.md).
EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130


def _engine(args, create: bool = False):
    """The store engine of `--db`. Only `create` commands (db upgrade, demo) may bring a new SQLite file into
    being: for every other command a path that does not exist is a mistyped one, refused before anything (its
    folder included) is created."""
    from etl.store import make_engine, normalise_url
    url = database_url(args.db)
    if not create:
        must_exist(url)
    try:
        return make_engine(url)
    except ImportError as exc:       # a dialect whose driver is not installed (mysql://, oracle:// …)
        raise LandDeskError(f"The store URL {make_url_safe(normalise_url(url))} needs the database driver "
                            f"{getattr(exc, 'name', None) or exc}, which is not installed; LandDesk's stores are "
                            "SQLite and PostgreSQL.") from None


def must_exist(url: str) -> None:
    """Refuse a SQLite store URL whose file does not exist (a read-only command never creates a store)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError
    try:
        parsed = make_url(url)
    except ArgumentError:
        return                           # make_engine says it is not a valid URL
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:") \
            and not Path(parsed.database).exists():
        raise LandDeskError(f"There is no store at {parsed.database}; check --db or LANDDESK_DATABASE_URL "
                            "(`landdesk db upgrade` creates a new store, `landdesk demo` the sample one).")


def cmd_db_upgrade(args) -> int:
    from etl.store import current_revision, upgrade
    engine = _engine(args, create=True)
    upgrade(engine)
    print(f"store {engine.url.render_as_string(hide_password=True)} is at revision {current_revision(engine)}")
    return 0


def cmd_marts_rebuild(args) -> int:
    from etl import marts
    from etl.store import ensure_ready
    engine = _engine(args)
    ensure_ready(engine)
    with engine.begin() as conn:
        marts.rebuild(conn)
        rows = {t: n for t, n in marts.row_counts(conn).items()}
    print("marts rebuilt from the base tables: " + ", ".join(f"{t} {n} rows" for t, n in rows.items()))
    return 0


def cmd_etl_load(args) -> int:
    from etl.load import load_mapping
    from etl.store import ensure_ready
    engine = _engine(args)
    ensure_ready(engine)
    failed = 0
    for path in args.mappings:
        try:
            result = load_mapping(engine, path, force=args.force, progress=not args.quiet)
        except LandDeskError as exc:   # one bad mapping does not stop the others
            print(f"landdesk: {exc}", file=sys.stderr)
            failed += 1
            result = getattr(exc, "result", None)
        else:
            print(result.summary())
        if result is not None:
            _audit_etl(engine, [result])
    return 2 if failed else 0


def _audit(engine, action: str, detail) -> None:
    """Best effort: the command's work is done, so an audit row that cannot be written (a store not yet
    upgraded to the audit log, a dropped connection) is a one-line warning, not a failure."""
    from service.audit import os_user, record
    try:
        record(engine, action, os_user(), detail, "cli")
    except Exception as exc:  # noqa: BLE001
        _not_audited(exc)


def _not_audited(exc: Exception) -> None:
    print(f"landdesk: warning: not audited ({exc})", file=sys.stderr)


def _audit_etl(engine, results) -> None:
    _audit(engine, "etl_run", {"batches": [
        {"batch": getattr(r, "batch_id", None), "status": r.status, "summary": r.summary()} for r in results]})


def is_demo_store(engine, url: str) -> bool:
    """The demo store: the default SQLite file (data/landdesk.db), or a store whose every batch loaded a
    sample-county mapping (sample_data/). An empty store elsewhere is not one: it may be production."""
    from sqlalchemy import select
    from etl.schema import etl_batches
    from landdesk.settings import DEFAULT_DB_PATH
    if url == f"sqlite:///{DEFAULT_DB_PATH.as_posix()}":
        return True
    with engine.connect() as conn:
        mappings = set(conn.execute(select(etl_batches.c.mapping).distinct()).scalars())
    sample = str(SAMPLE_DIR.resolve())
    return bool(mappings) and all(str(m).startswith(sample + os.sep) for m in mappings)


def cmd_etl_run(args) -> int:
    from etl.load import run_sources
    from etl.store import ensure_ready
    engine = _engine(args)
    ensure_ready(engine)
    if args.sources is None:
        if not is_demo_store(engine, database_url(args.db)):
            raise LandDeskError("`landdesk etl run` without a sources file loads the fictional sample county, "
                                "and this store is not the demo store; name your sources file "
                                "(landdesk etl run SOURCES.yaml).")
        args.sources = str(SAMPLE_DIR / "sources.yaml")
    results = run_sources(engine, args.sources, force=args.force, progress=not args.quiet)
    for r in results:
        print(r.summary())
    _audit_etl(engine, results)
    return EXIT_BAD_INPUT if any(r.status == "failed" for r in results) else EXIT_OK   # as `etl load`


def cmd_etl_undo(args) -> int:
    from etl.undo import undo_batch
    engine = _engine(args)
    result = undo_batch(engine, args.batch, force=args.force)
    _audit(engine, "etl_undo", {"batch": result.batch_id, "dataset": result.dataset, "removed": result.removed,
                                "kept_cases": result.kept_cases, "force": args.force})
    print(result.summary())
    return 0


def cmd_etl_batches(args) -> int:
    from etl.load import list_batches
    from etl.store import ensure_ready
    engine = _engine(args)
    ensure_ready(engine)
    _print_frame(list_batches(engine, limit=args.limit), args.format)
    return 0


def cmd_etl_quality(args) -> int:
    from etl.quality import rejects_by_reason
    from etl.store import ensure_ready
    engine = _engine(args)
    ensure_ready(engine)
    _print_frame(rejects_by_reason(engine, args.batch), args.format)
    return 0


def cmd_etl_rejects(args) -> int:
    from etl.load import list_rejects
    from etl.store import ensure_ready
    engine = _engine(args)
    ensure_ready(engine)
    _print_frame(list_rejects(engine, args.batch), args.format)
    return 0


def _argtype(parse):
    """An argparse type from one of service.params' parsers (its sentence becomes argparse's usage error)."""
    def convert(text: str):
        try:
            return parse(text)
        except LandDeskError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = parse.__name__
    return convert


def _check_filters(engine, args) -> None:
    """An unknown --township / --case-type / --department / --system is a typo, not "no cases": say which
    values exist (service.params.check_filters, the API's check too)."""
    from service.params import FILTERS, check_filters
    check_filters(engine, {dim: getattr(args, dim, None) for dim in FILTERS})


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    return value


def _percent(text: str) -> float:
    value = _number(text)
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text} is not a percentage from 0 to 100")
    return value


def _non_negative(text: str) -> float:
    value = _number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is below 0")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is below 1")
    return value


def _calendar_warning(conn, first, last) -> None:
    """One sentence on stderr when the data reach years the business calendar does not know."""
    from analytics.workcal import load_calendar, official_last_year
    from landdesk.i18n import t
    years = load_calendar(conn).uncovered_years(first, last)
    if years:
        print(t("calendar_uncovered", "en", last=official_last_year(), years=", ".join(map(str, years))),
              file=sys.stderr)


def cmd_export(args) -> int:
    from analytics.exports import registry
    from analytics.scope import Scope
    from etl.store import ensure_ready
    from service import results
    if args.list or not args.name:
        for e in registry().values():
            by = f" [--by {'|'.join(e.by)}]" if e.by else ""
            print(f"{e.name:20} {e.description}{by}")
        return 0
    if args.name not in registry():
        raise LandDeskError(f"There is no export named {args.name!r}; `landdesk export --list` shows the names.")
    from analytics.coverage import activity_range, data_end
    from landdesk.i18n import t
    from service.params import resolve_period
    engine = _engine(args)
    ensure_ready(engine)
    _check_filters(engine, args)
    with engine.connect() as conn:
        last = data_end(conn)
        start, end = resolve_period(conn, args.from_, args.to, preset=args.period)
        print(t("cli_period", "en", start=start, end=end, data_end=last or "none"), file=sys.stderr)
        _calendar_warning(conn, *activity_range(conn))
    scope = Scope(start, end, township=args.township, case_type=args.case_type, department=args.department,
                  system=args.system, compare=args.compare, grain=PRESET_GRAIN.get(args.period or "", ""),
                  cases=_case_filter(args))
    options = {k: getattr(args, k) for k in ("activities", "paths") if getattr(args, k) is not None}
    frame = results.read(engine, args.name, scope, args.time_unit, args.by, client="cli",
                         on_audit_error=_not_audited, options=options or None)
    _print_frame(frame, args.format)
    return 0


def _case_filter(args):
    """The process filters of `landdesk export` (analytics.casefilter.CaseFilter), None when none is given."""
    from analytics.casefilter import CaseFilter
    pct = lambda v: None if v is None else v / 100  # noqa: E731
    try:
        f = CaseFilter(period=args.cases_by, variants=tuple(args.variant or ()), top_variants=args.top_variants,
                       variant_coverage=pct(args.variant_coverage), has_activity=tuple(args.has_activity or ()),
                       lacks_activity=tuple(args.lacks_activity or ()), start_activity=tuple(args.start_activity or ()),
                       end_activity=tuple(args.end_activity or ()), duration_min=args.duration_min,
                       duration_max=args.duration_max, slowest=pct(args.slowest), unit=args.time_unit,
                       handler=tuple(args.handler or ()))
    except ValueError as exc:
        raise LandDeskError(f"The process filters do not fit together: {exc}.") from None
    return None if f.is_empty() else f


def _print_frame(df, fmt: str) -> None:
    if fmt == "json":
        from service.results import records
        print(json.dumps(records(df), ensure_ascii=False, indent=1))
    elif fmt == "csv":
        sys.stdout.write(df.to_csv(index=False))
    else:
        print(df.to_string(index=False) if len(df) else "(none)")


def _read_password(args) -> str | None:
    """The new password: one line on stdin (--password-stdin), else asked twice on the terminal."""
    if getattr(args, "oidc", False):
        return None
    if args.password_stdin:
        line = sys.stdin.readline()
        if not line.strip():
            raise LandDeskError("No password on standard input.")
        return line.rstrip("\r\n")
    if not sys.stdin.isatty():
        raise LandDeskError("No terminal to ask for the password; pass it on standard input with --password-stdin.")
    import getpass
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise LandDeskError("The two passwords differ.")
    return first


def cmd_users(args) -> int:
    from service import auth
    from service.audit import os_user
    from etl.store import ensure_ready
    engine = _engine(args)
    ensure_ready(engine)
    who = os_user()
    if args.users_command == "list":
        _print_frame(auth.list_users(engine), args.format)
    elif args.users_command == "add":
        p = auth.add_user(engine, args.name, args.role, _read_password(args), township=args.township,
                          display_name=args.display_name, by=who, client="cli")
        print(f"account {p.username} added ({p.role}{', ' + p.township if p.township else ''})")
    elif args.users_command == "passwd":
        auth.set_password(engine, args.name, _read_password(args), by=who, client="cli")
        print(f"password of {args.name} changed")
    else:
        auth.set_active(engine, args.name, args.users_command == "enable", by=who, client="cli")
        print(f"account {args.name} {args.users_command}d")
    return 0


def cmd_tokens(args) -> int:
    from etl.store import ensure_ready
    from service import tokens
    from service.audit import os_user
    engine = _engine(args)
    ensure_ready(engine)
    if args.tokens_command == "list":
        _print_frame(tokens.list_tokens(engine), args.format)
    elif args.tokens_command == "add":
        token = tokens.add_token(engine, args.name, args.role, township=args.township, expires_days=args.expires,
                                 by=os_user(), client="cli")
        print(token)
        print(f"token {args.name} added ({args.role}{', ' + args.township if args.township else ''}); it is shown "
              "only now: hand it to the other system's operator (Authorization: Bearer TOKEN)", file=sys.stderr)
    else:
        tokens.revoke_token(engine, args.name, by=os_user(), client="cli")
        print(f"token {args.name} revoked")
    return 0


def cmd_api(args) -> int:
    from etl.store import ensure_ready
    ensure_ready(_engine(args))
    from api.server import run
    store = make_url_safe(database_url(args.db))
    print(f"LandDesk API on http://{args.host}:{args.port}/api/v1/  (store: {store}; docs: /api/v1/docs)",
          flush=True)
    return run(database_url(args.db), args.host, args.port)


def cmd_audit(args) -> int:
    from service.audit import recent
    from etl.store import ensure_ready
    engine = _engine(args)
    ensure_ready(engine)
    _print_frame(recent(engine, args.limit, action=args.action, username=args.user), args.format)
    return 0


def cmd_forecast(args) -> int:
    from analytics.forecast import forecast_file, format_forecast
    frame = forecast_file(args.input, args.date_col, args.value_col, args.freq, args.horizon)
    sys.stdout.write(format_forecast(frame, args.format))
    return 0


def cmd_sample_generate(args) -> int:
    from sample_data.generator import generate
    counts = generate(Path(args.out), seed=args.seed, scale=args.scale)
    for name, n in counts.items():
        print(f"{name}: {n}")
    return 0


#: The dashboard's upload limit in MB (Streamlit's server.maxUploadSize); etl.upload checks type and size again.
MAX_UPLOAD_MB = 200
AUTH_NOTE = {"signin": "sign-in required", "none": "DEVELOPMENT MODE: no sign-in, everything open",
             "public": "open-government mode: disclosure pages only"}


def streamlit_flags() -> list[str]:
    """LandDesk's Streamlit configuration (dashboard/.streamlit/config.toml, shipped in the wheel) as `streamlit
    run` flags: flags win over ~/.streamlit/, ./.streamlit/ and STREAMLIT_* variables, so what a served dashboard
    runs with never depends on the machine's HOME (headless, no prompt, no usage statistics, no advert)."""
    import tomllib

    from landdesk.resources import streamlit_config
    doc = tomllib.loads(streamlit_config().read_text(encoding="utf-8"))
    flags: list[str] = []
    for section, options in doc.items():
        for name, value in options.items():
            flags += [f"--{section}.{name}", str(value).lower() if isinstance(value, bool) else str(value)]
    return flags


def serve_command(db: str | None, host: str, port: int, headless: bool, auth: str = "signin") -> tuple[list, dict]:
    """(argv, environment) of the Streamlit server `landdesk serve` becomes. Streamlit itself is always headless
    (`headless` only says whether `landdesk demo` opens a browser: `_open_browser_when_up`)."""
    env = dict(os.environ, LANDDESK_DATABASE_URL=database_url(db), LANDDESK_AUTH=auth)
    cmd = [sys.executable, "-m", "streamlit", "run", str(SERVER_PATH), "--server.address", host,
           "--server.port", str(port), "--server.maxUploadSize", str(MAX_UPLOAD_MB), *streamlit_flags()]
    return cmd, env


def _has_browser() -> bool:
    """A browser can be shown: a desktop session on Linux/BSD (DISPLAY or WAYLAND_DISPLAY), always on macOS and
    Windows. A console browser (w3m, lynx) is never started: it would take over the server's terminal."""
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return sys.platform in ("darwin", "win32")


def _open_browser_when_up(url: str, timeout: float = 120) -> None:
    """Open `url` in the desktop's browser once the server answers its health check, from a short-lived child
    process (the parent becomes the server). Nothing happens where there is no browser."""
    if not _has_browser() or not hasattr(os, "fork"):
        return
    if os.fork() != 0:
        return
    try:                                   # the child: wait for the server, open the page, leave
        import time
        import urllib.request
        import webbrowser
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url.rstrip("/") + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        webbrowser.open(url)
                        break
            except OSError:
                time.sleep(0.5)
    finally:
        os._exit(0)


def _serve(db: str | None, host: str, port: int, headless: bool, auth: str = "signin",
           open_browser: bool = False) -> int:
    """Run Streamlit with the store URL and the auth mode (LANDDESK_AUTH: signin, none, public) in its
    environment; the mode is always set here, so one left in the shell cannot switch sign-in off."""
    cmd, env = serve_command(db, host, port, headless, auth)
    store = make_url_safe(env["LANDDESK_DATABASE_URL"])
    url = f"http://{host}:{port}"
    print(f"LandDesk on {url}  (store: {store}; {AUTH_NOTE[auth]})", flush=True)
    sys.stderr.flush()
    if open_browser and not headless:
        _open_browser_when_up(url)
    # Become the Streamlit server (no child process), so a service manager's or a test's SIGTERM stops it
    # instead of leaving an orphaned server holding the port.
    os.execve(sys.executable, cmd, env)


def make_url_safe(url: str) -> str:
    from sqlalchemy.engine import make_url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return url


def cmd_serve(args) -> int:
    from etl.store import ensure_ready
    ensure_ready(_engine(args))
    auth = "none" if args.no_auth else ("public" if args.public else "signin")
    return _serve(args.db, args.host, args.port, args.headless, auth)


def cmd_demo(args) -> int:
    from etl.load import run_sources
    from etl.store import upgrade
    engine = _engine(args, create=True)
    upgrade(engine)
    for r in run_sources(engine, SAMPLE_DIR / "sources.yaml", progress=True):
        print(r.summary())
    if args.no_serve:
        return 0
    # the demo: sample data, no sign-in, the browser opened where there is one
    return _serve(args.db, args.host, args.port, args.headless, "none", open_browser=True)


def _version() -> str:
    """The installed distribution's version (the wheel's metadata), else the package's own."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("landdesk")
    except PackageNotFoundError:
        from landdesk import __version__
        return __version__


class Parser(argparse.ArgumentParser):
    """argparse with LandDesk's error convention: one sentence naming the help, exit code 2 (bad input)."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (`{self.prog} --help` shows the usage)\n")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="landdesk", description="LandDesk: analytics for land-and-resources bureaus.")
    p.add_argument("--version", action="version", version=f"landdesk {_version()}")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="store URL (default: $LANDDESK_DATABASE_URL or sqlite:///data/landdesk.db)")
    sub = p.add_subparsers(dest="command", required=True)

    def serve_opts(sp):
        sp.add_argument("--host", default="127.0.0.1")
        sp.add_argument("--port", type=int, default=8501)
        sp.add_argument("--headless", action="store_true", help="do not open a browser")

    sp = sub.add_parser("demo", parents=[common], help="build the sample county store and open the dashboard")
    serve_opts(sp)
    sp.add_argument("--no-serve", action="store_true", help="build the store only")
    sp.set_defaults(func=cmd_demo)

    sp = sub.add_parser("serve", parents=[common], help="serve the dashboard (sign-in required)")
    serve_opts(sp)
    mode = sp.add_mutually_exclusive_group()
    mode.add_argument("--no-auth", action="store_true",
                      help="development mode: no sign-in, every page open (never in production)")
    mode.add_argument("--public", action="store_true",
                      help="open-government mode (政务公开): only the disclosure page, no sign-in")
    sp.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="store administration").add_subparsers(dest="db_command", required=True)
    sp = db.add_parser("upgrade", parents=[common], help="create or upgrade the store schema")
    sp.set_defaults(func=cmd_db_upgrade)

    m = sub.add_parser("marts", help="the cockpit's summary tables").add_subparsers(dest="marts_command",
                                                                                       required=True)
    sp = m.add_parser("rebuild", parents=[common], help="recompute the marts from the base tables (one transaction)")
    sp.set_defaults(func=cmd_marts_rebuild)

    etl = sub.add_parser("etl", help="load sources").add_subparsers(dest="etl_command", required=True)
    sp = etl.add_parser("load", parents=[common], help="load one batch per mapping file")
    sp.add_argument("mappings", nargs="+")
    sp.add_argument("--force", action="store_true", help="reload even if the source is unchanged")
    sp.add_argument("--quiet", action="store_true", help="no progress bar")
    sp.set_defaults(func=cmd_etl_load)
    sp = etl.add_parser("run", parents=[common], help="load every source listed in a sources file")
    sp.add_argument("sources", nargs="?", default=None,
                    help="sources file (default: the sample county's, only into the demo store)")
    sp.add_argument("--force", action="store_true")
    sp.add_argument("--quiet", action="store_true")
    sp.set_defaults(func=cmd_etl_run)
    sp = etl.add_parser("undo", parents=[common], help="take one loaded batch back out of the store (audited)")
    sp.add_argument("batch", type=int)
    sp.add_argument("--force", action="store_true",
                    help="also remove records the batch updated that existed before it (their old values are lost)")
    sp.set_defaults(func=cmd_etl_undo)
    sp = etl.add_parser("batches", parents=[common], help="show the load history")
    sp.add_argument("--limit", type=int, default=50)
    sp.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sp.set_defaults(func=cmd_etl_batches)
    sp = etl.add_parser("rejects", parents=[common], help="show the rejected records of a batch")
    sp.add_argument("batch", type=int)
    sp.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sp.set_defaults(func=cmd_etl_rejects)

    sp = etl.add_parser("quality", parents=[common], help="rejected records by reason (all batches or one)")
    sp.add_argument("batch", type=int, nargs="?")
    sp.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sp.set_defaults(func=cmd_etl_quality)

    sp = sub.add_parser("export", parents=[common], help="print an analytics result by name")
    sp.add_argument("name", nargs="?")
    sp.add_argument("--list", action="store_true", help="list the export names")
    from service.params import TIME_UNITS, parse_date, parse_date_or_today
    sp.add_argument("--from", dest="from_", type=_argtype(parse_date), help="first day (default: 30 days before --to)")
    sp.add_argument("--to", type=_argtype(parse_date_or_today),
                    help="last day, or `today` (default: the data end, the store's last event day)")
    sp.add_argument("--period", choices=[p for p in PRESETS if p != "custom"],
                    help="a named period ending on --to (this_month = month to date); instead of --from")
    sp.add_argument("--compare", choices=list(COMPARES), default=DEFAULT_COMPARE,
                    help="what kpis compares with: the period before (previous, 环比) or a year earlier (year, 同比)")
    sp.add_argument("--township")
    sp.add_argument("--case-type")
    sp.add_argument("--department")
    sp.add_argument("--system", help="only the records of this source system (a mapping's `system:`)")
    sp.add_argument("--by", help="break the result down by a dimension, where the export allows it")
    sp.add_argument("--time-unit", choices=TIME_UNITS, default="workdays")
    sp.add_argument("--format", choices=["csv", "json", "table"], default="csv")
    pm = sp.add_argument_group("process map (dfg, dfg-nodes)")
    pm.add_argument("--activities", type=_percent, help="percent of the most frequent activities kept (default 100)")
    pm.add_argument("--paths", type=_percent,
                    help="percent of the edges kept, every kept activity staying connected (default 100)")
    pf = sp.add_argument_group("process filters (the process exports: stage-times, bottlenecks, dfg, variants, …)")
    pf.add_argument("--cases-by", choices=["events", "started", "completed", "active"], default="events",
                    help="how the period picks cases: events completed in it (default), or whole cases started, "
                         "completed or active in it")
    pf.add_argument("--variant", action="append", help="only cases of this variant (stages joined by ' → '); repeat")
    pf.add_argument("--top-variants", type=_positive_int, help="only cases of the N most frequent variants")
    pf.add_argument("--variant-coverage", type=_percent, help="only cases of the top variants covering PCT %% of cases")
    pf.add_argument("--has-activity", action="append", help="only cases with an event of this stage; repeat")
    pf.add_argument("--lacks-activity", action="append", help="only cases without this stage; repeat")
    pf.add_argument("--start-activity", action="append", help="only cases starting with this stage; repeat")
    pf.add_argument("--end-activity", action="append", help="only cases ending with this stage; repeat")
    pf.add_argument("--duration-min", type=_non_negative, help="only cases lasting at least this (in --time-unit)")
    pf.add_argument("--duration-max", type=_non_negative, help="only cases lasting at most this (in --time-unit)")
    pf.add_argument("--slowest", type=_percent, help="only the slowest PCT %% of cases")
    pf.add_argument("--handler", action="append", help="only cases with an event by this handler key; repeat")
    sp.set_defaults(func=cmd_export)

    sp = sub.add_parser("forecast", help="forecast any series in a CSV or xlsx file (95%% interval)")
    sp.add_argument("--input", required=True, help="CSV (UTF-8 or GB18030) or xlsx file")
    sp.add_argument("--date-col", required=True)
    sp.add_argument("--value-col", required=True)
    sp.add_argument("--freq", required=True, help="W (weekly), MS (monthly) or QS (quarterly)")
    sp.add_argument("--horizon", type=int, required=True, help="periods ahead")
    sp.add_argument("--format", choices=["csv", "json"], default="csv")
    sp.set_defaults(func=cmd_forecast)

    from briefing.cli import add_arguments as briefing_arguments, run as run_briefing
    sp = sub.add_parser("briefing", parents=[common], help="write the weekly briefing (PDF, DOCX, HTML)")
    briefing_arguments(sp)
    sp.add_argument("--deliver", metavar="FILE", help="then deliver it as this delivery file says (e-mail, robots)")
    sp.set_defaults(func=_guarded_briefing(run_briefing))

    from delivery.cli import add_deliver_arguments
    sp = sub.add_parser("deliver", parents=[common], help="deliver an archived weekly briefing (e-mail, robots)")
    add_deliver_arguments(sp)
    sp.set_defaults(func=cmd_deliver)

    from delivery.cli import add_alerts_arguments
    alerts = sub.add_parser("alerts", help="threshold alerts").add_subparsers(dest="alerts_command", required=True)
    sp = alerts.add_parser("check", parents=[common], help="evaluate the alert rules, store and deliver new alerts "
                                                           "(for cron, e.g. hourly)")
    add_alerts_arguments(sp)
    sp.set_defaults(func=cmd_alerts_check)

    from etl.schema import ROLES
    users = sub.add_parser("users", help="dashboard accounts").add_subparsers(dest="users_command", required=True)
    sp = users.add_parser("add", parents=[common], help="add an account (password asked, or --password-stdin)")
    sp.add_argument("name")
    sp.add_argument("--role", required=True, choices=ROLES)
    sp.add_argument("--township", help="the township a township_officer may see")
    sp.add_argument("--display-name")
    sp.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    sp.add_argument("--oidc", action="store_true", help="no password: signs in through the identity provider only")
    sp.set_defaults(func=cmd_users)
    sp = users.add_parser("passwd", parents=[common], help="set an account's password")
    sp.add_argument("name")
    sp.add_argument("--password-stdin", action="store_true")
    sp.set_defaults(func=cmd_users)
    for verb in ("disable", "enable"):
        sp = users.add_parser(verb, parents=[common], help=f"{verb} an account")
        sp.add_argument("name")
        sp.set_defaults(func=cmd_users)
    sp = users.add_parser("list", parents=[common], help="list the accounts (never the password hashes)")
    sp.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sp.set_defaults(func=cmd_users)

    from etl.schema import TOKEN_ROLES
    from landdesk.settings import settings
    sp = sub.add_parser("api", parents=[common], help="serve the read-only JSON API of the exports (tokens required)")
    sp.add_argument("--host", default="127.0.0.1")
    sp.add_argument("--port", type=int, default=None, help="port (default: $LANDDESK_API_PORT or 8502)")
    sp.set_defaults(func=_api_port(cmd_api, settings))
    tok = sub.add_parser("tokens", help="the API's tokens").add_subparsers(dest="tokens_command", required=True)
    sp = tok.add_parser("add", parents=[common], help="make a token and print it once (stored hashed)")
    sp.add_argument("name")
    sp.add_argument("--role", required=True, choices=TOKEN_ROLES)
    sp.add_argument("--township", help="the township a township_officer token may see")
    sp.add_argument("--expires", type=int, metavar="DAYS", help="days until it expires (default: never)")
    sp.set_defaults(func=cmd_tokens)
    sp = tok.add_parser("list", parents=[common], help="list the tokens and their state (never the tokens)")
    sp.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sp.set_defaults(func=cmd_tokens)
    sp = tok.add_parser("revoke", parents=[common], help="revoke a token at once")
    sp.add_argument("name")
    sp.set_defaults(func=cmd_tokens)

    sp = sub.add_parser("audit", parents=[common], help="show the audit log, newest first")
    sp.add_argument("--limit", type=int, default=50)
    sp.add_argument("--action", help="only this action (sign_in, sign_in_failed, export, download, upload, etl_run, …)")
    sp.add_argument("--user", help="only this username")
    sp.add_argument("--format", choices=["table", "csv", "json"], default="table")
    sp.set_defaults(func=cmd_audit)

    sample = sub.add_parser("sample", help="the sample county").add_subparsers(dest="sample_command", required=True)
    sp = sample.add_parser("generate", help="generate the sample county's exports")
    sp.add_argument("--seed", type=int, default=20240101)
    sp.add_argument("--scale", type=float, default=1.0)
    sp.add_argument("--out", default=str(SAMPLE_DIR / "exports"))
    sp.set_defaults(func=cmd_sample_generate)
    return p


def _api_port(cmd, settings):
    """`--port`, else LANDDESK_API_PORT (read when the command runs, so a bad value is one sentence)."""
    def cmd_api_port(args) -> int:
        if args.port is None:
            args.port = settings().api_port
        return cmd(args)
    return cmd_api_port


def _guarded_briefing(run):
    """`landdesk briefing` reads an existing store only: a mistyped SQLite path is refused, not created."""
    def cmd_briefing(args) -> int:
        must_exist(database_url(args.db))
        config = None
        if getattr(args, "deliver", None):           # a bad delivery file or missing secret stops before the work
            from delivery import load_config
            from delivery.run import check_secrets
            config = load_config(args.deliver)
            check_secrets(config)
        code = run(args)
        if code or config is None:
            return code
        from briefing.weeks import default_week
        from delivery.cli import run_deliver
        engine = _engine(args)
        args.week = args.week or default_week(engine)
        return run_deliver(engine, args, config)
    return cmd_briefing


def cmd_alerts_check(args) -> int:
    from delivery.cli import run_alerts
    from etl.store import ensure_ready
    engine = _engine(args)
    ensure_ready(engine)
    return run_alerts(engine, args)


def cmd_deliver(args) -> int:
    from delivery import load_config
    from delivery.cli import run_deliver
    from delivery.run import check_secrets
    from etl.store import ensure_ready
    config = load_config(args.config)
    check_secrets(config)
    engine = _engine(args)
    ensure_ready(engine)
    return run_deliver(engine, args, config)


def _os_sentence(exc: OSError) -> str:
    where = f" {exc.filename}" if getattr(exc, "filename", None) else ""
    return f"cannot use{where}: {exc.strerror or exc}."


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)       # bad arguments: argparse's usage line and exit code 2
    try:
        return args.func(args)
    except LandDeskError as exc:
        print(f"landdesk: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK
    except KeyboardInterrupt:
        print("landdesk: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as exc:                      # an output folder that cannot be written (--out /proc/nope) …
        print(f"landdesk: {_os_sentence(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ImportError as exc:                  # a store URL whose driver is not installed, reached elsewhere
        print(f"landdesk: a module LandDesk needs is not installed ({getattr(exc, 'name', None) or exc}).",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # noqa: BLE001 - never a traceback: one sentence, and a bug to report
        print(f"landdesk: internal error ({type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}); "
              "please report it.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
