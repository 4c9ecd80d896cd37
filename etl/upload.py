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


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", Path(name).name)[:120] or "upload"


def load_upload(engine, mapping_path: str | Path, filename: str, content: bytes,
                upload_dir: Path = UPLOAD_DIR) -> BatchResult:
    """Store the upload under data/uploads and load it with the mapping's columns and codes.

    The derived mapping lives at a stable path per source mapping, so uploading the same file
    twice is skipped like any unchanged source.
    """
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
    return load_mapping(engine, derived_path)
