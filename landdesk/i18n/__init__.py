"""Every user-visible string: one catalogue file per language (`<code>.yaml` beside this module), keyed by message.

A third language is a new file with the same keys and placeholders (tests/test_i18n.py checks parity). A message
that interpolates a count may be a mapping of CLDR plural categories (`one`, `other`, …); `t(key, lang, n=…)`
picks the form with Babel's plural rules for the language. Missing keys fall back to English, then to the key
itself, so a gap shows up in tests rather than as an exception on a page.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

CATALOGUE_DIR = Path(__file__).resolve().parent
DEFAULT_LANG = "zh"
FALLBACK_LANG = "en"
#: The keys built at run time from a prefix and a code (KPI codes, units, channels, tabs …): a key with one of
#: these prefixes may be used without appearing literally in the code (tests/test_i18n.py).
DYNAMIC_PREFIXES = ("kpi_", "unit_", "channel_", "case_status_", "status_", "trend_", "col_", "role_", "export_",
                    "brief_def_", "brief_term_", "brief_pet_", "brief_land_", "land_status_", "bn_chart_heatmap_",
                    "fc_by_", "fc_measure_", "pub_", "pet_none_", "reason_", "gbt21010_", "preset_", "compare_",
                    "vs_", "period_caption_", "data_range_", "alert_msg_", "alert_rule_",
                    "batch_status_", "result_", "satisfaction_", "bool_", "dataset_", "kpidef_", "model_",
                    "pf_period_", "integrity_rule_", "pm_kind_", "pm_measure_", "pm_size_", "pm_help_", "region_level_", "grain_", "field_type_")
#: A key ending so is used wherever the key without it is: `tr(label + "_help")` beside `tr(label)`.
DYNAMIC_SUFFIXES = ("_help",)


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, object]:
    """The messages of `lang` (empty when there is no such catalogue)."""
    path = CATALOGUE_DIR / f"{lang}.yaml"
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


@lru_cache(maxsize=1)
def languages() -> tuple[str, ...]:
    """The languages with a catalogue, the default first."""
    found = sorted(p.stem for p in CATALOGUE_DIR.glob("*.yaml"))
    return tuple(sorted(found, key=lambda code: code != DEFAULT_LANG))


LANGS = languages()


def keys() -> list[str]:
    """Every message key, in the default catalogue's order (tab sets are read in this order)."""
    return list(catalogue(DEFAULT_LANG))


def has(key: str) -> bool:
    return key in catalogue(DEFAULT_LANG)


@lru_cache(maxsize=None)
def _plural_rule(lang: str):
    from babel import Locale

    try:
        return Locale.parse(lang).plural_form
    except (ValueError, LookupError):
        return lambda n: "other"


def plural_category(n, lang: str) -> str:
    """The CLDR plural category ('one', 'few', 'other' …) of the number `n` in `lang`."""
    try:
        return _plural_rule(lang)(abs(n))
    except (TypeError, ValueError):
        return "other"


def _message(key: str, lang: str):
    for code in (lang, FALLBACK_LANG):
        msg = catalogue(code).get(key)
        if msg is not None:
            return msg
    return None


def t(key: str, lang: str = DEFAULT_LANG, **fmt) -> str:
    """The text for `key` in `lang`, with `fmt` filled in; a plural message picks its form by `n` (or `count`)."""
    msg = _message(key, lang)
    if msg is None:
        return key
    if isinstance(msg, dict):
        n = fmt.get("n", fmt.get("count"))
        form = plural_category(n, lang) if n is not None else "other"
        msg = msg.get(form) or msg.get("other") or next(iter(msg.values()))
    if "bureau" not in fmt and "{bureau}" in msg:
        fmt = dict(fmt, bureau=bureau_name(lang))
    return msg.format(**fmt) if fmt else msg


def bureau_name(lang: str = DEFAULT_LANG) -> str:
    """The bureau's name: the LANDDESK_BUREAU setting, else the sample county's name in `lang`."""
    from landdesk.settings import settings

    return settings().bureau or t("bureau_default", lang)


def language_name(code: str) -> str:
    """A language's name in that language (for the language switch)."""
    return t("language_name", code)
