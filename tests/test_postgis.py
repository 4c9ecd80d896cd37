"""Geometry in PostgreSQL: migration 0011 makes the geometry columns PostGIS geometry(Geometry, 4490) when the
server offers the postgis extension, and leaves them GeoJSON text when it does not (here: LANDDESK_POSTGIS=off,
the same decision as a server without the package). The same reads (etl.spatial.read, the region-shapes
export, the overlaid transfer matrix) give the same GeoJSON and figures from SQLite, plain PostgreSQL and
PostGIS; a downgrade turns PostGIS back into the same text."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import text

shapely = pytest.importorskip("shapely")

from analytics import transfer  # noqa: E402
from analytics.exports import run_export  # noqa: E402
from analytics.scope import Scope  # noqa: E402
from etl import schema as S, spatial  # noqa: E402
from etl.load import load_mapping  # noqa: E402
from etl.store import upgrade  # noqa: E402
from devtools.pgschema import drop_schema, schema_engine  # noqa: E402
from test_geo import _mapping, _square, _write  # noqa: E402

pytestmark = pytest.mark.pg
SCOPE = Scope(dt.date(2025, 1, 1), dt.date(2025, 12, 31))


@pytest.fixture
def stores(pg_server_url, sqlite_engine, monkeypatch):
    """{"sqlite", "pg-text", "pg-postgis"}: three upgraded stores (PostGIS only when the server offers it)."""
    made = []
    out = {"sqlite": sqlite_engine}
    monkeypatch.setenv("LANDDESK_POSTGIS", "off")
    engine, admin, schema = schema_engine(pg_server_url)
    made.append((engine, admin, schema))
    upgrade(engine)
    out["pg-text"] = engine
    monkeypatch.setenv("LANDDESK_POSTGIS", "auto")
    with admin.connect() as conn:
        available = spatial.postgis_available(conn)
    if available:
        engine, admin, schema = schema_engine(pg_server_url)
        made.append((engine, admin, schema))
        upgrade(engine)
        out["pg-postgis"] = engine
    yield out
    for engine, admin, schema in made:
        drop_schema(engine, admin, schema)


def _need_postgis(stores):
    if "pg-postgis" not in stores:
        pytest.skip("the PostgreSQL server does not offer the postgis extension "
                    "(Debian: apt-get install postgresql-15-postgis-3; scripts/system-deps.sh installs it)")


def _load(engine, tmp_path):
    """Three townships and two survey years of parcels whose ids differ (so the matrix is an overlay)."""
    regions = tmp_path / "regions.geojson"
    _write(regions, [_square(119.8, 28.3, 0.3, 0.3), _square(119.8, 28.3, 0.15, 0.3),
                     _square(119.95, 28.3, 0.15, 0.3), shapely.Point(119.9, 28.4).buffer(0.05, quad_segs=64)],
           {"代码": ["331199", "331199001", "331199002", "331199003"], "名称": ["青山县", "城关镇", "东坪镇", "西河镇"],
            "级别": ["县", "乡镇", "乡镇", "乡镇"], "上级": [None, "331199", "331199", "331199"],
            "人口": ["100", "60", "40", "10"]}, "GeoJSON", "EPSG:4490")
    m = _mapping(tmp_path, "r.yaml", {"dataset": "regions", "source": {"path": regions.name},
                                      "columns": {"region_code": "代码", "name": "名称", "level": "级别",
                                                  "parent": "上级", "population": "人口"},
                                      "values": {"level": {"县": "county", "乡镇": "township"}}})
    assert load_mapping(engine, m).rows_loaded == 4
    parcels = tmp_path / "parcels.geojson"
    a = [_square(119.80, 28.30, 0.02, 0.02), _square(119.82, 28.30, 0.02, 0.02)]     # 2024: two parcels
    b = [_square(119.80, 28.30, 0.03, 0.02), _square(119.83, 28.30, 0.01, 0.02)]     # 2025: re-drawn, new ids
    _write(parcels, a + b, {"BSM": ["A1", "A2", "B1", "B2"], "ND": ["2024", "2024", "2025", "2025"],
                            "DLBM": ["0101", "0301", "0101", "0702"], "MJ": ["4", "4", "6", "2"],
                            "QS": ["331199001"] * 4}, "GeoJSON", "EPSG:4490")
    m = _mapping(tmp_path, "p.yaml", {"dataset": "land_parcels", "source": {"path": parcels.name},
                                      "columns": {"parcel_id": "BSM", "year": "ND", "category_code": "DLBM",
                                                  "area_ha": "MJ", "region_code": "QS"}})
    assert load_mapping(engine, m).rows_loaded == 4


def test_postgis_column_type_srid_and_index(stores, tmp_path):
    _need_postgis(stores)
    engine = stores["pg-postgis"]
    _load(engine, tmp_path)
    with engine.connect() as conn:
        ns = spatial.postgis_schema(conn, "land_parcels")
        assert ns and spatial.uses_postgis(conn, "regions")
        srids = conn.execute(text(f'SELECT DISTINCT "{ns}".ST_SRID(geometry) FROM land_parcels')).scalars().all()
        kinds = conn.execute(text(f'SELECT DISTINCT "{ns}".GeometryType(geometry) FROM regions')).scalars().all()
        gist = conn.execute(text("SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() "
                                 "AND indexdef ILIKE '%USING gist (geometry)%'")).scalar_one()
        # the database can answer spatial questions itself: which township holds the 2025 parcel B2
        inside = conn.execute(text(f'SELECT r.name FROM regions r JOIN land_parcels p ON "{ns}".ST_Within('
                                   f"p.geometry, r.geometry) WHERE p.parcel_id = 'B2' AND r.level = 'township'")
                              ).scalars().all()
    assert srids == [4490] and kinds == ["POLYGON"] and gist == 2 and inside == ["城关镇"]


def test_text_fallback_when_postgis_is_off(stores, tmp_path):
    engine = stores["pg-text"]
    _load(engine, tmp_path)
    with engine.connect() as conn:
        assert not spatial.uses_postgis(conn, "regions") and not spatial.uses_postgis(conn, "land_parcels")
        udt = conn.execute(text("SELECT udt_name FROM information_schema.columns WHERE table_schema = "
                                "current_schema() AND table_name = 'regions' AND column_name = 'geometry'")).scalar()
        raw = conn.execute(text("SELECT geometry FROM regions WHERE name = '东坪镇'")).scalar_one()
    assert udt == "text" and raw.startswith('{"type":"Polygon"')


def test_the_same_reads_give_the_same_geojson_everywhere(stores, tmp_path):
    _need_postgis(stores)
    got = {}
    for name, engine in stores.items():
        (tmp_path / name).mkdir()
        _load(engine, tmp_path / name)
        with engine.connect() as conn:
            got[name] = (spatial.read(conn, S.regions), spatial.read(conn, S.land_parcels),
                         run_export(engine, "region-shapes", SCOPE),
                         transfer.store_matrix(conn, SCOPE, 2024, 2025))
    base = got["sqlite"]
    # the overlay by hand: A1 (0101, 4 ha) lies in B1 (0101); A2 (0301, 4 ha) is half in B1, half in B2 (0702)
    m = base[3].set_index(["from_code", "to_code"])["area_ha"]
    assert m.to_dict() == {("01", "01"): pytest.approx(4.0), ("03", "01"): pytest.approx(2.0),
                           ("03", "07"): pytest.approx(2.0)}
    assert base[0]["geometry"].str.startswith('{"type":"Polygon"').all()
    for name in ("pg-text", "pg-postgis"):
        for mine, theirs in zip(got[name], base):
            pd.testing.assert_frame_equal(mine.reset_index(drop=True), theirs.reset_index(drop=True),
                                          check_dtype=False, obj=name)


def test_downgrade_turns_postgis_back_into_the_same_text(stores, tmp_path):
    _need_postgis(stores)
    engine = stores["pg-postgis"]
    _load(engine, tmp_path)
    with engine.connect() as conn:
        before = spatial.read(conn, S.land_parcels)
    upgrade_to = __import__("alembic.command", fromlist=["downgrade"])
    from etl.store import alembic_config
    upgrade_to.downgrade(alembic_config(engine), "0010")
    with engine.connect() as conn:
        assert not spatial.uses_postgis(conn, "land_parcels")
        raw = conn.execute(text("SELECT geometry FROM land_parcels ORDER BY parcel_id, year")).scalars().all()
        after = spatial.read(conn, S.land_parcels)
    assert raw == list(before["geometry"])
    pd.testing.assert_frame_equal(after, before)
    upgrade(engine)
    with engine.connect() as conn:
        assert spatial.uses_postgis(conn, "land_parcels")
        pd.testing.assert_frame_equal(spatial.read(conn, S.land_parcels), before)
