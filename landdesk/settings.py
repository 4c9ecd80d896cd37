"""Run-time configuration: one `Settings` object read from the environment and `.streamlit/secrets.toml`.

Every `LANDDESK_*` variable is declared once, in `VARIABLES` below (name, meaning, default); nothing else in
LandDesk reads the environment for its own settings. `settings()` builds the object afresh, so a changed
environment (a test, `landdesk serve` handing values to Streamlit) is seen at once; it is cheap.
"""
from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from landdesk import resources
from landdesk.errors import LandDeskError

#: The source checkout's root, None in an installed wheel (landdesk.resources resolves every packaged path).
REPO_ROOT = resources.checkout_root()
SAMPLE_DIR = resources.SAMPLE_DIR
DEFAULT_DB_PATH = Path("data") / "landdesk.db"
#: Documented demo secret; a real bureau sets LANDDESK_SECRET (see docs/operations.md).
DEMO_SECRET = "landdesk-demo-secret-change-me"
DEFAULT_TIMEZONE = "Asia/Shanghai"
AUTH_MODES = ("signin", "none", "public")
#: The business calendars a store can count working days on (LANDDESK_CALENDAR).
CALENDARS = ("cn", "weekdays")

#: Every environment variable LandDesk reads: name -> (what it sets, default). docs/operations.md lists them.
VARIABLES: dict[str, tuple[str, str]] = {
    "LANDDESK_DATABASE_URL": ("the store's SQLAlchemy URL (`--db` wins)", f"sqlite:///{DEFAULT_DB_PATH.as_posix()}"),
    "LANDDESK_SECRET": ("HMAC key that pseudonymises personal identifiers", "the documented demo key"),
    "LANDDESK_SECRETS_FILE": ("the secrets.toml whose [landdesk] table holds database_url / secret / bureau",
                              "./.streamlit/secrets.toml, else the repository's"),
    "LANDDESK_AUTH": ("the dashboard's mode: signin, none (development) or public (政务公开); set by `landdesk serve`",
                      "signin"),
    "LANDDESK_BUREAU": ("the bureau's name on the dashboard, the public page and the briefing",
                        "the sample county's name in each language"),
    "LANDDESK_BRIEFING_DIR": ("the briefing archive folder (`--out` wins)", "data/briefings"),
    "LANDDESK_MAPPINGS_DIR": ("a folder of mapping files offered for uploads on the data page", "none"),
    "LANDDESK_DOCX_EASTASIA_FONT": ("the East Asian font of the Word briefing's body text (正文), instead of the "
                                    "customary 仿宋_GB2312", "仿宋_GB2312 (briefing/fonts.py)"),
    "LANDDESK_BRIEFING_TEMPLATE": ("a Word file (.docx) with the bureau's own red header (红头) and styles, its "
                                   "{{ placeholders }} filled in, the briefing put at {{ body }}",
                                   "briefing/templates/redhead.docx"),
    "LANDDESK_REALDATA": ("where mapping files' $LANDDESK_REALDATA points (tests, benchmarks)", "../shared/realdata"),
    "LANDDESK_TIMEZONE": ("the bureau's IANA time zone: which day, week and working day an instant falls on, and "
                          "how stored (UTC) times are shown", DEFAULT_TIMEZONE),
    "LANDDESK_CALENDAR": ("the business calendar of working days: cn (the official Chinese calendar of the "
                          "chinese-calendar package plus the store's calendar table) or weekdays (Monday to Friday, "
                          "the calendar table's rows as holidays and extra workdays)", "cn"),
    "LANDDESK_SESSION_IDLE_HOURS": ("hours of inactivity after which a dashboard sign-in ends (a reload, a new tab "
                                    "or a reconnect keeps it until then)", "8"),
    "LANDDESK_TRUSTED_PROXIES": ("comma-separated addresses or networks of the reverse proxies whose X-Forwarded-For "
                                 "the dashboard believes", "none: the socket's peer address is the client"),
    "LANDDESK_API_PORT": ("the port `landdesk api` listens on (`--port` wins)", str(8502)),
    "LANDDESK_API_RATE_LIMIT": ("requests a minute one API token may make (per API process)", str(120)),
    "LANDDESK_BRIEFING_MARK": ("the classification mark (密级 / 内部资料) printed at the top of every briefing, e.g. "
                               "内部资料 注意保存", "none: no mark"),
    "LANDDESK_BRIEFING_ISSUER": ("the issuing authority (发文机关) signed at the end of every briefing with its date",
                                 "the bureau's name (LANDDESK_BUREAU)"),
    "LANDDESK_PUBLIC_URL": ("the dashboard's address as recipients reach it (the link in delivered briefings and "
                            "alerts, e.g. https://landdesk.bureau.example)", "none: messages carry no link"),
    "LANDDESK_DELIVERY_ATTEMPTS": ("attempts per e-mail recipient or robot before a delivery is reported failed",
                                   "3"),
    "LANDDESK_DELIVERY_BACKOFF": ("seconds before the first retry of a failed delivery (doubled for each further "
                                  "retry)", "5"),
    "LANDDESK_MAP_TILES": ("an XYZ raster tile URL ({z}/{x}/{y}) drawn under the maps as a basemap (a server the "
                           "dashboard's users can reach)", "none: boundaries on a plain background, fully offline"),
    "LANDDESK_POSTGIS": ("auto: on a PostgreSQL server that offers the postgis extension, `landdesk db upgrade` "
                         "creates it (when the role may) and stores geometry as PostGIS geometry(…, 4490); off: "
                         "geometry stays GeoJSON text (as in SQLite). Decided when the store is upgraded", "auto"),
    "LANDDESK_ETL_CHUNK_ROWS": ("records a load reads and processes at a time: a bigger CSV or XES source is streamed "
                                "in chunks of this size (still one transaction), which bounds the load's memory",
                                str(200_000)),
}
DEFAULT_API_PORT = 8502
DEFAULT_API_RATE_LIMIT = 120
#: The default of LANDDESK_ETL_CHUNK_ROWS.
ETL_CHUNK_ROWS = 200_000


@dataclass(frozen=True)
class Settings:
    """The configuration in force. `None` means "not set": the caller's documented default applies."""

    database_url: str
    secret: bytes
    auth_mode: str
    bureau: str | None
    briefing_dir: Path | None
    mappings_dir: Path | None
    docx_eastasia_font: str | None
    realdata: Path | None
    timezone: str = DEFAULT_TIMEZONE
    calendar: str = "cn"
    trusted_proxies: tuple = ()        # ipaddress networks; empty: X-Forwarded-For is never believed
    session_idle_hours: float = 8.0    # a dashboard sign-in ends after this much inactivity
    api_port: int = DEFAULT_API_PORT
    api_rate_limit: int = DEFAULT_API_RATE_LIMIT
    public_url: str | None = None
    briefing_mark: str | None = None
    briefing_issuer: str | None = None
    briefing_template: Path | None = None
    delivery_attempts: int = 3
    delivery_backoff: float = 5.0
    map_tiles: str | None = None       # XYZ tile URL of the maps' optional basemap
    etl_chunk_rows: int = ETL_CHUNK_ROWS
    postgis: str = "auto"              # auto | off: PostGIS geometry columns when the server offers them


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def secrets_toml(path: Path | None = None) -> dict:
    """The [landdesk] table of .streamlit/secrets.toml (LANDDESK_SECRETS_FILE, else ./.streamlit/,
    else the repository's), or {} when there is none. The file is git-ignored; an example is committed."""
    import tomllib

    candidates = [path] if path else [Path(p) for p in [_env("LANDDESK_SECRETS_FILE")] if p] + [
        Path.cwd() / ".streamlit" / "secrets.toml"] + ([REPO_ROOT / ".streamlit" / "secrets.toml"] if REPO_ROOT else [])
    for candidate in candidates:
        if candidate.is_file():
            try:
                doc = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise LandDeskError(f"{candidate} is not a readable TOML file ({exc}).") from None
            table = doc.get("landdesk", {})
            return table if isinstance(table, dict) else {}
    return {}


def settings() -> Settings:
    """The settings now: environment first, then secrets.toml's [landdesk] table, then the defaults."""
    toml = secrets_toml()
    auth = (_env("LANDDESK_AUTH") or "signin").lower()
    auth = auth if auth in AUTH_MODES else "signin"      # an unknown mode fails closed: sign-in required

    def path(name: str) -> Path | None:
        value = _env(name)
        return Path(value) if value else None
    return Settings(
        database_url=_env("LANDDESK_DATABASE_URL") or toml.get("database_url")
        or f"sqlite:///{DEFAULT_DB_PATH.as_posix()}",
        secret=str(_env("LANDDESK_SECRET") or toml.get("secret") or DEMO_SECRET).encode("utf-8"),
        auth_mode=auth,
        bureau=_env("LANDDESK_BUREAU") or toml.get("bureau") or None,
        briefing_dir=path("LANDDESK_BRIEFING_DIR"),
        mappings_dir=path("LANDDESK_MAPPINGS_DIR"),
        docx_eastasia_font=_env("LANDDESK_DOCX_EASTASIA_FONT"),
        realdata=path("LANDDESK_REALDATA"),
        timezone=_timezone(_env("LANDDESK_TIMEZONE") or DEFAULT_TIMEZONE),
        calendar=_calendar(_env("LANDDESK_CALENDAR") or "cn"),
        trusted_proxies=trusted_proxies(_env("LANDDESK_TRUSTED_PROXIES")),
        session_idle_hours=_idle_hours(_env("LANDDESK_SESSION_IDLE_HOURS")),
        api_port=int(_number("LANDDESK_API_PORT", DEFAULT_API_PORT, 1, 65535, integer=True)),
        api_rate_limit=int(_number("LANDDESK_API_RATE_LIMIT", DEFAULT_API_RATE_LIMIT, 1, 1_000_000, integer=True)),
        public_url=_env("LANDDESK_PUBLIC_URL"),
        briefing_mark=_env("LANDDESK_BRIEFING_MARK"),
        briefing_issuer=_env("LANDDESK_BRIEFING_ISSUER"),
        briefing_template=path("LANDDESK_BRIEFING_TEMPLATE"),
        delivery_attempts=int(_number("LANDDESK_DELIVERY_ATTEMPTS", 3, 1, 20, integer=True)),
        delivery_backoff=_number("LANDDESK_DELIVERY_BACKOFF", 5.0, 0, 3600),
        map_tiles=_env("LANDDESK_MAP_TILES"),
        etl_chunk_rows=_chunk_rows(_env("LANDDESK_ETL_CHUNK_ROWS")),
        postgis=_postgis(_env("LANDDESK_POSTGIS")),
    )


def _postgis(text: str | None) -> str:
    value = (text or "auto").lower()
    if value not in ("auto", "off"):
        raise LandDeskError(f"LANDDESK_POSTGIS {text!r} is neither auto nor off.")
    return value


def _idle_hours(text: str | None) -> float:
    if text is None:
        return 8.0
    try:
        hours = float(text)
    except ValueError:
        hours = float("nan")
    if not 0 < hours <= 24 * 30:
        raise LandDeskError(f"LANDDESK_SESSION_IDLE_HOURS {text!r} is not a number of hours between 0 and 720.")
    return hours


def _number(name: str, default: float, low: float, high: float, integer: bool = False) -> float:
    """A numeric setting within [low, high]; anything else is one sentence naming the variable."""
    text = _env(name)
    if text is None:
        return default
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        kind = "a whole number" if integer else "a number"
        raise LandDeskError(f"{name} {text!r} is not {kind} from {low:g} to {high:g}.")
    return value


def _chunk_rows(text: str | None) -> int:
    if text is None:
        return ETL_CHUNK_ROWS
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        value = 0
    if value < 1:
        raise LandDeskError(f"LANDDESK_ETL_CHUNK_ROWS {text!r} is not a positive whole number of records.")
    return value


def etl_chunk_rows() -> int:
    """How many records a load processes at a time (LANDDESK_ETL_CHUNK_ROWS, else 200,000)."""
    return settings().etl_chunk_rows


def _timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        raise LandDeskError(f"LANDDESK_TIMEZONE {name!r} is not an IANA time zone like Asia/Shanghai.") from None
    return name


def _calendar(name: str) -> str:
    if name.lower() not in CALENDARS:
        raise LandDeskError(f"LANDDESK_CALENDAR {name!r} is not one of {', '.join(CALENDARS)}.")
    return name.lower()


def trusted_proxies(text: str | None) -> tuple:
    """The networks of LANDDESK_TRUSTED_PROXIES ("10.0.0.5, 10.1.0.0/16, ::1"); a value that is not an address
    or network is an error (a typo must not silently trust nobody, or everybody)."""
    import ipaddress
    out = []
    for part in (text or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise LandDeskError(f"LANDDESK_TRUSTED_PROXIES: {part!r} is not an IP address or network.") from None
    return tuple(out)


def database_url(explicit: str | None = None) -> str:
    """The store URL: --db, else LANDDESK_DATABASE_URL, else secrets.toml [landdesk] database_url,
    else a SQLite file under ./data/."""
    return explicit or settings().database_url


def secret() -> bytes:
    """HMAC key for pseudonymising personal identifiers: LANDDESK_SECRET, else secrets.toml
    [landdesk] secret, else the documented demo key."""
    return settings().secret


def bureau_timezone() -> str:
    """The bureau's time zone (LANDDESK_TIMEZONE, else Asia/Shanghai): the zone of every calendar question."""
    return settings().timezone


def utc_now() -> datetime.datetime:
    """Now as a naive UTC instant: how the store stamps every time (batches, audit rows, accounts)."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def local_now() -> datetime.datetime:
    """Now as naive wall-clock time in the bureau's zone: for what a person reads (a briefing's date, a note)."""
    return datetime.datetime.now(ZoneInfo(bureau_timezone())).replace(tzinfo=None)


def to_local(instant: datetime.datetime | None, tz: str | None = None) -> datetime.datetime | None:
    """A stored (naive UTC) instant as naive wall-clock time in `tz` (default: the bureau's zone), to show it."""
    if instant is None:
        return None
    if isinstance(instant, str):
        instant = datetime.datetime.fromisoformat(instant)
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=datetime.timezone.utc)
    return instant.astimezone(ZoneInfo(tz or bureau_timezone())).replace(tzinfo=None)
