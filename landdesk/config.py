"""Run-time configuration: where the store is and the pseudonymisation secret."""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DIR = REPO_ROOT / "sample_data"
DEFAULT_DB_PATH = Path("data") / "landdesk.db"
#: Documented demo secret; a real bureau sets LANDDESK_SECRET (see docs/operations.md).
DEMO_SECRET = "landdesk-demo-secret-change-me"
DEFAULT_TIMEZONE = "Asia/Shanghai"


class LandDeskError(Exception):
    """An error caused by input or environment, reported to the user as one sentence."""


def database_url(explicit: str | None = None) -> str:
    """The store URL: --db, else LANDDESK_DATABASE_URL, else a SQLite file under ./data/."""
    url = explicit or os.environ.get("LANDDESK_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{DEFAULT_DB_PATH.as_posix()}"


def secret() -> bytes:
    """HMAC key for pseudonymising personal identifiers (LANDDESK_SECRET, else the demo key)."""
    return os.environ.get("LANDDESK_SECRET", DEMO_SECRET).encode("utf-8")
