"""Run-time configuration: where the store is and the pseudonymisation secret."""
from __future__ import annotations

import datetime
import os
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


def local_now() -> datetime.datetime:
    """Now as naive wall-clock time in the bureau's timezone: how the store stamps every time."""
    return datetime.datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).replace(tzinfo=None)


def secrets_toml(path: Path | None = None) -> dict:
    """The [landdesk] table of .streamlit/secrets.toml (LANDDESK_SECRETS_FILE, else ./.streamlit/,
    else the repository's), or {} when there is none. The file is git-ignored; an example is committed."""
    import tomllib

    candidates = [path] if path else [Path(p) for p in [os.environ.get("LANDDESK_SECRETS_FILE")] if p] + [
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


def database_url(explicit: str | None = None) -> str:
    """The store URL: --db, else LANDDESK_DATABASE_URL, else secrets.toml [landdesk] database_url,
    else a SQLite file under ./data/."""
    url = explicit or os.environ.get("LANDDESK_DATABASE_URL") or secrets_toml().get("database_url")
    if url:
        return url
    return f"sqlite:///{DEFAULT_DB_PATH.as_posix()}"


def secret() -> bytes:
    """HMAC key for pseudonymising personal identifiers: LANDDESK_SECRET, else secrets.toml
    [landdesk] secret, else the documented demo key."""
    value = os.environ.get("LANDDESK_SECRET") or secrets_toml().get("secret") or DEMO_SECRET
    return str(value).encode("utf-8")
