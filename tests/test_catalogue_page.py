"""The data dictionary (数据目录, issue 15): the `catalogue` and `catalogue-fields` exports count the store's rows,
name the systems and mappings that fed each dataset and its freshness, describe every field in both languages;
a township officer's counts are their township's; the CLI export is audited; the page lays the exports out in
Chinese and in English."""
from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import func, select

from analytics.exports import run_export
from analytics.scope import Scope
from etl.schema import DATASETS, cases, etl_batches, petitions
from etl.store import make_engine
from landdesk.i18n import t
from service import audit, results
from service.auth import Principal
from test_pages import on_sample, run  # noqa: F401

DAY = Scope(pd.Timestamp("2026-10-31").date(), pd.Timestamp("2026-10-31").date())


@pytest.fixture(scope="module")
def engine(sample_store_url):
    eng = make_engine(sample_store_url)
    yield eng
    eng.dispose()


def test_datasets_count_rows_and_name_their_sources(engine):
    cat = run_export(engine, "catalogue", DAY).set_index("dataset")
    assert list(cat.index) == list(DATASETS)
    with engine.connect() as conn:
        for name, table in DATASETS.items():
            assert cat.loc[name, "rows"] == conn.execute(select(func.count()).select_from(table)).scalar_one(), name
        systems = set(conn.execute(select(cases.c.system).distinct()).scalars())
        loads = conn.execute(select(func.count()).select_from(etl_batches).where(
            etl_batches.c.dataset == "cases", etl_batches.c.status == "loaded")).scalar_one()
    assert set(cat.loc["cases", "systems"].split(", ")) == systems
    assert cat.loc["cases", "batches"] == loads > 0
    assert cat.loc["petitions", "mappings"] == "petitions.yaml"
    assert pd.notna(cat.loc["cases", "last_loaded"]) and cat.loc["cases", "age_days"] >= 0
    # never loaded: no load time, no age, no systems (shown as —)
    assert cat.loc["calendar", "batches"] == 0 and pd.isna(cat.loc["calendar", "last_loaded"])
    assert pd.isna(cat.loc["calendar", "age_days"]) and pd.isna(cat.loc["calendar", "systems"])
    assert cat.loc["cases", "grain_zh"] == t("grain_cases", "zh") and "办件" in cat.loc["cases", "grain_zh"]
    assert cat.loc["cases", "fields"] == len([c for c in cases.columns if c.name != "batch_id"])


def test_fields_describe_every_column_in_both_languages(engine):
    fields = run_export(engine, "catalogue-fields", DAY)
    expected = {(n, c.name) for n, tb in DATASETS.items() for c in tb.columns if c.name != "batch_id"}
    assert set(zip(fields["dataset"], fields["field"])) == expected
    for lang in ("zh", "en"):
        meaning, label = fields["meaning_" + lang], fields["label_" + lang]
        assert not meaning.str.startswith("col_").any() and meaning.str.len().min() >= 4, lang
        assert (meaning != label).all(), lang
    assert not fields["meaning_zh"].eq(fields["meaning_en"]).any()
    area = fields[(fields["dataset"] == "land_use") & (fields["field"] == "area_ha")].iloc[0]
    assert (area["unit_zh"], area["unit_en"], area["type"]) == ("公顷", "ha", "number")
    key = fields[(fields["dataset"] == "cases")].set_index("field")["key"]
    assert key["case_id"] and key["system"] and not key["channel"]


def test_an_officer_counts_their_own_township(engine):
    officer = Principal("dp", "township_officer", "东坪镇")
    mine = results.read(engine, "catalogue", DAY, principal=officer, audited=False).set_index("dataset")
    county = results.read(engine, "catalogue", DAY, audited=False).set_index("dataset")
    with engine.connect() as conn:
        own_cases = conn.execute(select(func.count()).where(cases.c.township == "东坪镇")).scalar_one()
        own_petitions = conn.execute(select(func.count()).where(petitions.c.township == "东坪镇")).scalar_one()
    assert mine.loc["cases", "rows"] == own_cases < county.loc["cases", "rows"]
    assert mine.loc["petitions", "rows"] == own_petitions < county.loc["petitions", "rows"]
    assert 0 < mine.loc["case_events", "rows"] < county.loc["case_events", "rows"]
    assert mine.loc["calendar", "rows"] == county.loc["calendar", "rows"]      # the bureau's, every township's


def test_cli_export_is_audited(sample_store_url, tmp_path, monkeypatch, capsys):
    import shutil
    from cli.main import main
    src = make_engine(sample_store_url)
    copy = tmp_path / "store.db"
    shutil.copy(src.url.database, copy)
    src.dispose()
    url = f"sqlite:///{copy}"
    monkeypatch.setenv("LANDDESK_DATABASE_URL", url)
    assert main(["export", "catalogue-fields", "--format", "json"]) in (0, None)
    rows = json.loads(capsys.readouterr().out)
    assert {r["field"] for r in rows if r["dataset"] == "cases"} >= {"case_id", "received_at", "channel"}
    eng = make_engine(url)
    detail = audit.recent(eng, 5, action="export").iloc[0]["detail"]
    eng.dispose()
    assert "catalogue-fields" in str(detail)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_lays_out_the_dictionary(on_sample, engine, lang):  # noqa: F811
    at = run("catalogue", {"lang": lang})
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == t("page_catalogue", lang)
    sets, fields = at.dataframe[0].value, at.dataframe[1].value
    export = run_export(engine, "catalogue", DAY)
    assert list(sets[t("col_dataset", lang)]) == [t("dataset_" + d, lang) for d in export["dataset"]]
    assert [int(str(x).replace(",", "")) for x in sets[t("col_rows", lang)]] == export["rows"].tolist()
    assert list(sets[t("col_grain", lang)]) == list(export["grain_" + lang])
    assert (sets[t("col_age_days", lang)] == "—").sum() == export["age_days"].isna().sum()
    assert len(fields) == len(run_export(engine, "catalogue-fields", DAY))
    meanings = set(fields[t("col_meaning", lang)])
    assert t("col_received_at_help", lang) in meanings and t("col_area_ha_help", lang) in meanings
    assert set(fields[t("col_type", lang)]) <= {t("field_type_" + k, lang) for k in
                                                ("string", "integer", "number", "date", "datetime", "boolean")}
    box = at.selectbox(key="dict_dataset")
    assert box.options[0] == t("dict_all_datasets", lang)
    box.set_value("petitions").run()
    only = at.dataframe[1].value
    assert set(only[t("col_dataset", lang)]) == {t("dataset_petitions", lang)}
    assert len(only) == len([c for c in petitions.columns if c.name != "batch_id"])


def test_docs_hold_the_dictionary():
    """docs/catalogue.md's field table is the one analytics.catalogue builds (regenerate it when a field changes)."""
    from pathlib import Path

    from analytics.catalogue import docs_table
    doc = (Path(__file__).resolve().parent.parent / "docs" / "catalogue.md").read_text(encoding="utf-8")
    assert docs_table() in doc, "docs/catalogue.md's field table differs from analytics.catalogue: regenerate it"
