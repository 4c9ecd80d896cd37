"""The sample county 青山县 (Qingshan County): a seeded generator, its exports and their mappings."""
from pathlib import Path

SAMPLE_DIR = Path(__file__).resolve().parent
EXPORTS_DIR = SAMPLE_DIR / "exports"
MAPPINGS_DIR = SAMPLE_DIR / "mappings"
SOURCES_FILE = SAMPLE_DIR / "sources.yaml"
