"""The one parser of the dashboard's URL parameters: every value a shared link may carry (?from=, ?to=, ?township=,
?case_type=, ?department=, ?unit=, ?area=, ?lang=, a page's ?PREFIX_view= tab) is validated here against what the
widgets accept, and corrected when it is not: a date outside the data or not a date, an unknown township, a unit
that does not exist. Each correction is a `Correction` the page shows as one short notice (catalogue text
`url_corrected`); no value, however odd, reaches a widget that would raise.

Pure functions (no Streamlit): dashboard.ui reads the URL and draws the notices."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping, Sequence

from analytics.coverage import DEFAULT_PERIOD_DAYS
from analytics.periods import DEFAULT_PRESET, PRESETS

#: The longest URL value quoted back in a notice.
QUOTE_LIMIT = 40
#: How far before the first day with data the period picker reaches (ui.filter_bar's min_value).
LOOKBACK = dt.timedelta(days=366)
#: The default period: the days up to the last day with data (analytics.coverage.DEFAULT_PERIOD_DAYS).
DEFAULT_DAYS = DEFAULT_PERIOD_DAYS



def _bounded(raw: dict, key: str, default: dt.date, lo: dt.date, hi: dt.date, notes: list) -> dt.date:
    """The date of URL parameter `key` within [lo, hi]: `default` when absent, `default` (noted) when unreadable,
    the nearest bound (noted) when outside."""
    if not raw.get(key):
        return default
    value = _date(raw[key])
    if value is None:
        notes.append(Correction(key, raw[key], default.isoformat()))
        return default
    if not lo <= value <= hi:
        fixed = min(max(value, lo), hi)
        notes.append(Correction(key, raw[key], fixed.isoformat()))
        return fixed
    return value


@dataclass(frozen=True)
class Correction:
    """URL parameter `param` said `value`; the page uses `used` instead ('' = all)."""

    param: str
    value: str
    used: str

    @property
    def quoted(self) -> str:
        text = " ".join(str(self.value).split())
        return text if len(text) <= QUOTE_LIMIT else text[:QUOTE_LIMIT - 1] + "…"


def date_bounds(first: dt.date | None, last: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """(min_value, max_value) of the period picker: a year before the data's first day .. the later of its last
    day and today."""
    last = last or today
    first = first or last
    return first - LOOKBACK, max(last, today)


def _date(text) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text).strip())
    except (TypeError, ValueError):
        return None


def parse_period(raw: Mapping[str, str], first: dt.date | None, last: dt.date | None,
                 today: dt.date) -> tuple[tuple[dt.date, dt.date], list[Correction]]:
    """The period a URL asks for (?from=, ?to=), inside the picker's bounds; the default is the 30 days up to
    the data's last day. Not a date → the default; outside the bounds → the nearest bound; reversed → swapped."""
    lo, hi = date_bounds(first, last, today)
    last = last or today
    notes: list[Correction] = []
    end = _bounded(raw, "to", min(max(last, lo), hi), lo, hi, notes)
    start = _bounded(raw, "from", max(end - dt.timedelta(days=DEFAULT_DAYS - 1), lo), lo, hi, notes)
    if end < start:
        start, end = end, start
    return (start, end), notes


def parse_preset(raw: Mapping[str, str]) -> tuple[str, Correction | None]:
    """The named period a URL asks for (?preset=this_month). A link with ?from=/?to= and no preset is a custom
    range; no period at all: the default preset; an unknown name: the default, corrected."""
    if not raw.get("preset"):
        return ("custom" if raw.get("from") or raw.get("to") else DEFAULT_PRESET), None
    return parse_choice(raw, "preset", PRESETS, DEFAULT_PRESET)


def clamp_period(period, first: dt.date | None, last: dt.date | None, today: dt.date):
    """A period already in session state (kept from an earlier store state or page), moved inside the bounds."""
    lo, hi = date_bounds(first, last, today)
    if isinstance(period, (tuple, list)):
        days = [d for d in period if isinstance(d, dt.date)]
        if not days:
            return None
        fixed = tuple(min(max(d, lo), hi) for d in days)
        return fixed if len(fixed) == 2 else fixed[:1]
    if isinstance(period, dt.date):
        return min(max(period, lo), hi)
    return None


def parse_choice(raw: Mapping[str, str], param: str, allowed: Sequence[str], default: str,
                 shown_as: str | None = None) -> tuple[str, Correction | None]:
    """A value that must be one of `allowed` (a township, a unit, a language): else `default`, corrected.
    `shown_as` is how the corrected value reads in the notice (e.g. the label of "all townships")."""
    value = raw.get(param)
    if value is None or value == "":
        return default, None
    if value in allowed:
        return value, None
    return default, Correction(param, value, shown_as if shown_as is not None else default)


def tab_id(name: str) -> str:
    """The stable ASCII id a URL gives a tab: its translation key after PREFIX_tab_ (bn_tab_map → map). The label
    shown stays translated; the id is the same in every language, so a shared link does not depend on it."""
    return name.split("_tab_", 1)[1] if "_tab_" in name else name


def parse_tab(value: str | None, names: Sequence[str], labels: Mapping[str, Sequence[str]]) -> str | None:
    """The tab (translation key, one of `names`) a URL value names — its id (`map`), its key (`bn_tab_map`) or,
    for links made before the ids, its label in any language (`labels`: key → its labels) — else None."""
    if value is None:
        return None
    value = str(value).strip()
    for name in names:
        if value in (tab_id(name), name) or value in labels.get(name, ()):
            return name
    return None


# --- the process tabs' filters and the process map's sliders (issue 14) -----------------------------------

#: URL parameters of the process filter bar (pages/bottlenecks.py): one value, or repeated for lists.
PROCESS_LISTS = {"pf_variant": "variants", "pf_has": "has_activity", "pf_lacks": "lacks_activity",
                 "pf_start": "start_activity", "pf_end": "end_activity", "pf_handler": "handler",
                 "pf_township": "township", "pf_case_type": "case_type", "pf_department": "department",
                 "pf_system": "system", "pf_event_department": "event_department"}
#: Which list of known values (parse_process_filter's `known`) each list parameter may name.
PROCESS_POOLS = {"pf_variant": "variants", "pf_has": "activities", "pf_lacks": "activities",
                 "pf_start": "activities", "pf_end": "activities", "pf_handler": "handlers",
                 "pf_township": "townships", "pf_case_type": "case_types", "pf_department": "departments",
                 "pf_system": "systems", "pf_event_department": "event_departments"}
PROCESS_NUMBERS = ("pf_top", "pf_cover", "pf_dmin", "pf_dmax", "pf_slowest")
PROCESS_PARAMS = ("pf_period", *PROCESS_LISTS, *PROCESS_NUMBERS)


def _number(text) -> float | None:
    try:
        value = float(str(text).strip())
    except (TypeError, ValueError):
        return None
    return value if value == value and abs(value) != float("inf") else None


def parse_share(raw: Mapping[str, str], param: str, default: int) -> tuple[int, Correction | None]:
    """A whole percentage 0–100 (the process map's sliders): not a number → `default`; outside → the nearest
    bound; a fraction → rounded."""
    if raw.get(param) in (None, ""):
        return default, None
    value = _number(raw[param])
    if value is None:
        return default, Correction(param, raw[param], str(default))
    fixed = int(round(min(max(value, 0), 100)))
    return fixed, (None if fixed == value else Correction(param, raw[param], str(fixed)))


def parse_process_filter(raw: Mapping, known: Mapping[str, Sequence[str]], unit: str = "workdays"):
    """The process filters a URL asks for, checked against what the data hold. `raw` maps each parameter to its
    value or list of values (pf_has may repeat); `known` maps each PROCESS_POOLS name ("variants", "activities",
    "handlers", "townships", …) to the values that exist. An unknown value is dropped, a number out of range moved inside, a contradiction (maximum below
    minimum) dropped — each with a Correction. Returns (analytics.casefilter.CaseFilter, corrections)."""
    from analytics.casefilter import PERIOD_MODES, CaseFilter
    notes: list[Correction] = []

    def values(param) -> list[str]:
        v = raw.get(param)
        return [] if v in (None, "") else [str(x) for x in (v if isinstance(v, (list, tuple)) else [v]) if x != ""]

    period = str(raw.get("pf_period") or "events")
    if period not in PERIOD_MODES:
        notes.append(Correction("pf_period", period, "events"))
        period = "events"
    lists = {}
    for param, field_name in PROCESS_LISTS.items():
        ok = set(known.get(PROCESS_POOLS[param], ()))
        chosen = []
        for v in values(param):
            if v in ok and v not in chosen:
                chosen.append(v)
            elif v not in ok:
                notes.append(Correction(param, v, ""))
        lists[field_name] = tuple(chosen)
    numbers: dict[str, float | None] = {}
    limits = {"pf_top": (1, 10_000), "pf_cover": (1, 100), "pf_dmin": (0, 1e9), "pf_dmax": (0, 1e9),
              "pf_slowest": (1, 100)}
    for param in PROCESS_NUMBERS:
        text = values(param)
        if not text:
            numbers[param] = None
            continue
        value = _number(text[0])
        lo, hi = limits[param]
        if value is None:
            notes.append(Correction(param, text[0], ""))
            numbers[param] = None
            continue
        fixed = min(max(value, lo), hi)
        if param == "pf_top":
            fixed = int(round(fixed))
        if fixed != value:
            notes.append(Correction(param, text[0], f"{fixed:g}"))
        numbers[param] = fixed
    if numbers["pf_dmin"] is not None and numbers["pf_dmax"] is not None and numbers["pf_dmax"] < numbers["pf_dmin"]:
        notes.append(Correction("pf_dmax", f"{numbers['pf_dmax']:g}", ""))
        numbers["pf_dmax"] = None
    f = CaseFilter(period=period, top_variants=numbers["pf_top"],
                   variant_coverage=None if numbers["pf_cover"] is None else numbers["pf_cover"] / 100,
                   duration_min=numbers["pf_dmin"], duration_max=numbers["pf_dmax"],
                   slowest=None if numbers["pf_slowest"] is None else numbers["pf_slowest"] / 100, unit=unit,
                   **lists)
    return f, notes


def process_filter_params(f) -> dict[str, object]:
    """The URL parameters (value or list) that say CaseFilter `f` (the inverse of parse_process_filter)."""
    out: dict[str, object] = {}
    if f.period != "events":
        out["pf_period"] = f.period
    for param, field_name in PROCESS_LISTS.items():
        if getattr(f, field_name):
            out[param] = list(getattr(f, field_name))
    for param, value in (("pf_top", f.top_variants), ("pf_dmin", f.duration_min), ("pf_dmax", f.duration_max),
                         ("pf_cover", None if f.variant_coverage is None else f.variant_coverage * 100),
                         ("pf_slowest", None if f.slowest is None else f.slowest * 100)):
        if value is not None:
            out[param] = f"{value:g}"
    return out
