"""The data page (AppTest on the sample store): catalogue, batches, rejects and an upload through a mapping."""
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from etl.catalogue import catalogue
from etl.schema import petitions
from etl.store import make_engine, upgrade
from etl.upload import load_upload
from landdesk.errors import LandDeskError
from landdesk.settings import SAMPLE_DIR

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard" / "app.py")


def test_catalogue_counts_each_dataset(sample_store_url):
    cat = catalogue(make_engine(sample_store_url)).set_index("dataset")
    assert cat.loc["cases", "rows"] > 1000 and cat.loc["case_events", "rows"] > cat.loc["cases", "rows"]
    assert cat.loc["petitions", "mapping"] == "petitions.yaml"
    assert cat.loc["calendar", "rows"] == 0 and pd.isna(cat.loc["calendar", "mapping"])
    assert "one row per case" in cat.loc["cases", "grain"]


def test_data_page_renders(sample_store_url, monkeypatch):
    monkeypatch.setenv("LANDDESK_DATABASE_URL", sample_store_url)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(str(ROOT / "pages" / "data.py"))
    at.run()
    assert not at.exception
    assert at.title[0].value == "数据管理"
    assert len(at.dataframe) >= 2


def test_upload_loads_through_the_mapping_and_is_idempotent(tmp_path):
    engine = make_engine(f"sqlite:///{(tmp_path / 'u.db').as_posix()}")
    upgrade(engine)
    content = (SAMPLE_DIR / "exports" / "petitions.csv").read_bytes()
    first = load_upload(engine, SAMPLE_DIR / "mappings" / "petitions.yaml", "信访导出.csv", content, tmp_path / "up")
    assert first.status == "loaded" and first.rows_loaded > 1000
    second = load_upload(engine, SAMPLE_DIR / "mappings" / "petitions.yaml", "信访导出.csv", content, tmp_path / "up")
    assert second.status == "skipped"
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(petitions)).scalar_one() == first.rows_loaded
    with pytest.raises(LandDeskError, match="not a file type"):
        load_upload(engine, SAMPLE_DIR / "mappings" / "petitions.yaml", "evil.exe", b"MZ", tmp_path / "up")
