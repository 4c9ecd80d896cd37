"""Table columns and store fields: the unit of each field that has one. A column's label is `col_<name>` and its
one-line definition `col_<name>_help` in the catalogues (landdesk/i18n) — the single source of the pages' column
help (dashboard.ui.table) and of the data dictionary's meanings (analytics.catalogue)."""
from __future__ import annotations

from landdesk.i18n import has, t

#: The unit (a catalogue key) of each store field measured in one; the other fields are codes, names or instants.
FIELD_UNITS = {
    "area_ha": "unit_ha",
    "statutory_days": "unit_name_workdays",
    "promised_days": "unit_name_workdays",
    "price": "unit_wanyuan",
    "population": "unit_persons",
    "visits": "unit_events",
}


def field_unit(name: str, lang: str | None = None) -> str | None:
    """The unit of store field `name` as its catalogue key (None: it has none), or as text in `lang`."""
    key = FIELD_UNITS.get(name)
    if key is None or lang is None:
        return key
    return t(key, lang)


def column_help(name: str, lang: str) -> str | None:
    """Column `name`'s one-line definition in `lang` (None when the catalogue has none: a test walks every page's
    tables and fails on such a column)."""
    key = f"col_{name}_help"
    return t(key, lang) if has(key) else None
