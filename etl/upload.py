"""Loading an uploaded file through an existing mapping (the data page's upload)."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from etl.load import BatchResult, load_mapping
from landdesk.errors import LandDeskError

UPLOAD_DIR = Path("data") / "uploads"
ALLOWED_SUFFIXES = (".csv", ".xlsx", ".xes", ".xes.gz", ".gz")
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


MAX_NAME = 120


def _safe_name(name: str) -> str:
    """The upload's name reduced to safe characters, at most MAX_NAME long with its type suffix kept (a long
    name is cut in its stem, after the type check saw the whole name)."""
    safe = re.sub(r"[^\w.\-]+", "_", Path(name).name) or "upload"
    if len(safe) <= MAX_NAME:
        return safe
    suffix = next((s for s in sorted(ALLOWED_SUFFIXES, key=len, reverse=True) if safe.lower().endswith(s)), "")
    return safe[:MAX_NAME - len(suffix)] + safe[len(safe) - len(suffix):]


def load_upload(engine, mapping_path: str | Path, filename: str, content: bytes,
                upload_dir: Path = UPLOAD_DIR) -> BatchResult:
    """Store the upload under data/uploads and load it with the mapping's columns and codes.

    The derived mapping lives at a stable path per source mapping, so uploading the same file
    twice is skipped like any unchanged source.
    """
    whole = re.sub(r"[^\w.\-]+", "_", Path(filename).name)
    if not whole.lower().endswith(ALLOWED_SUFFIXES):        # the whole name: cutting it could expose a .csv
        raise LandDeskError(f"{filename} is not a file type LandDesk loads (csv, xlsx, xes, xes.gz).")
    name = _safe_name(filename)
    if not name.lower().endswith(ALLOWED_SUFFIXES):
        raise LandDeskError(f"{filename} is not a file type LandDesk loads (csv, xlsx, xes, xes.gz).")
    if len(content) > MAX_UPLOAD_BYTES:
        raise LandDeskError(f"{filename} is larger than the {MAX_UPLOAD_BYTES // 2**20} MB upload limit.")
    mapping_path = Path(mapping_path).resolve()
    try:
        doc = yaml.safe_load(mapping_path.read_text(encoding="utf-8-sig"))
    except (OSError, yaml.YAMLError):
        raise LandDeskError(f"Mapping {mapping_path.name} cannot be read.") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("source"), dict):
        raise LandDeskError(f"Mapping {mapping_path.name} has no `source:` block.")
    target_dir = (upload_dir / mapping_path.stem).resolve()
    target_dir.mkdir(parents=True, exist_ok=True)
    stored = target_dir / name
    stored.write_bytes(content)
    source = {k: v for k, v in doc["source"].items() if k not in ("path", "url", "query", "format")}
    source["path"] = str(stored)
    derived = dict(doc, source=source)
    derived_path = target_dir / f"{mapping_path.stem}.upload.yaml"
    derived_path.write_text(yaml.safe_dump(derived, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        result = load_mapping(engine, derived_path)
    except BaseException:
        stored.unlink(missing_ok=True)        # a refused upload does not stay on the server's disk
        raise
    if result.status == "failed":
        stored.unlink(missing_ok=True)
    return result
