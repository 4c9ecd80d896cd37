"""Configuration has one home: every LANDDESK_* variable is declared in landdesk.settings.VARIABLES, documented in
docs/operations.md, and read nowhere else in the product code."""
from __future__ import annotations

import re
from pathlib import Path

from landdesk import settings as S

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("landdesk", "etl", "analytics", "service", "briefing", "delivery", "dashboard", "pages", "cli", "api")


def test_every_variable_is_documented_and_every_documented_one_declared():
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(LANDDESK_[A-Z_]+)` \|", doc, flags=re.M))
    assert documented == set(S.VARIABLES)


def test_only_settings_reads_the_environment_for_landdesk_variables():
    readers = []
    for pkg in PRODUCT:
        for path in (ROOT / pkg).rglob("*.py"):
            if path == ROOT / "landdesk" / "settings.py":
                continue
            text = path.read_text(encoding="utf-8")
            if re.search(r"(os\.environ\.get\(|os\.environ\[|getenv\()\s*[\"']LANDDESK_", text):
                readers.append(str(path.relative_to(ROOT)))
    assert not readers, readers


def test_settings_read_the_environment_then_secrets_then_defaults(monkeypatch, tmp_path):
    toml = tmp_path / "secrets.toml"
    toml.write_text('[landdesk]\ndatabase_url = "postgresql://u:p@db/x"\nbureau = "河西市自然资源和规划局"\n', encoding="utf-8")
    monkeypatch.setenv("LANDDESK_SECRETS_FILE", str(toml))
    for name in ("LANDDESK_DATABASE_URL", "LANDDESK_BUREAU", "LANDDESK_AUTH", "LANDDESK_BRIEFING_DIR"):
        monkeypatch.delenv(name, raising=False)
    got = S.settings()
    assert got.database_url == "postgresql://u:p@db/x" and got.bureau == "河西市自然资源和规划局"
    assert got.auth_mode == "signin" and got.briefing_dir is None
    monkeypatch.setenv("LANDDESK_DATABASE_URL", "sqlite:///elsewhere.db")
    monkeypatch.setenv("LANDDESK_AUTH", "Public")
    monkeypatch.setenv("LANDDESK_BRIEFING_DIR", str(tmp_path / "b"))
    got = S.settings()
    assert got.database_url == "sqlite:///elsewhere.db" and got.auth_mode == "public"
    assert got.briefing_dir == tmp_path / "b"
    monkeypatch.setenv("LANDDESK_AUTH", "wide-open")
    assert S.settings().auth_mode == "signin"        # an unknown mode fails closed
