"""Where LandDesk's packaged files are: the Streamlit app script, the page scripts, the sample county and the
store migrations. The one place that knows the layout, for a source checkout (editable install, `pytest` from
the repository) and for an installed wheel alike.

- source checkout: `pages/` and `sample_data/` are top-level folders beside `dashboard/`;
- wheel: the page scripts are shipped inside the `dashboard` package as `dashboard/pages/` (setup.py copies
  them there at build time), the sample county is package data of `sample_data`.

Packages are located with importlib's finders (find_spec), never imported, so this base-layer module does not
depend on the layers above it.
"""
from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path


@cache
def package_dir(name: str) -> Path:
    """The folder of the top-level package `name` (e.g. "dashboard"), without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"LandDesk's package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


@cache
def checkout_root() -> Path | None:
    """The repository root when running from a source checkout, else None (an installed wheel)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "pyproject.toml").is_file() and (root / "pages").is_dir() else None


def app_path() -> Path:
    """The Streamlit entry script (`streamlit run` target)."""
    return package_dir("dashboard") / "app.py"


def streamlit_config() -> Path:
    """LandDesk's Streamlit configuration, shipped beside the entry script (dashboard/.streamlit/config.toml)."""
    return package_dir("dashboard") / ".streamlit" / "config.toml"


def pages_dir() -> Path:
    """The folder of the thin page scripts: dashboard/pages/ in a wheel, the repository's pages/ in a checkout."""
    packaged = package_dir("dashboard") / "pages"
    if packaged.is_dir():
        return packaged
    return package_dir("dashboard").parent / "pages"


def page_path(key: str) -> Path:
    """The script of one page, e.g. page_path("cockpit")."""
    return pages_dir() / f"{key}.py"


def sample_dir() -> Path:
    """The sample county: sources.yaml, exports/ and mappings/ (package data of `sample_data`)."""
    return package_dir("sample_data")


def sample_sources() -> Path:
    return sample_dir() / "sources.yaml"


def migrations_dir() -> Path:
    """The Alembic scripts of the store (package data of `etl`)."""
    return package_dir("etl") / "migrations"


def default_realdata() -> Path | None:
    """Where the shared real data sits when LANDDESK_REALDATA is unset: <checkout>/../shared/realdata in a
    source checkout; None in an installed wheel (LANDDESK_REALDATA must then be set)."""
    root = checkout_root()
    return root.parent / "shared" / "realdata" if root else None


APP_PATH = app_path()
#: What `landdesk serve` hands to `streamlit run`.
SERVER_PATH = package_dir("dashboard") / "server.py"
SAMPLE_DIR = sample_dir()
