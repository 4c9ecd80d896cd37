"""What "no raw text" means, shared by the AppTest check (tests/test_plain_text.py) and the browser walk
(tests/test_browser_text.py): the tokens a reader must never see, in either language."""
from __future__ import annotations

import re

from etl import schema
from landdesk.i18n import LANGS, catalogue

#: Python's and pandas' empty values and infinities, as words (so `information` or `Nonexistent` do not count).
EMPTY_WORDS = re.compile(r"(?<![A-Za-z])(nan|NaN|None|NaT|-?inf)(?![A-Za-z])")
#: A key of the catalogue shown instead of its text (`trend_`, `case_status_open`, `kpi_backlog`).
#: A file name (`land_supply.yaml`) is data, not a key.
KEY_TOKEN = re.compile(r"(?<![A-Za-z0-9_.])[a-z][a-z0-9]*_[a-z0-9_\-]*(?![A-Za-z0-9_\-]|\.[A-Za-z])")
KEYS = frozenset(k for lang in LANGS for k in catalogue(lang))
#: The codes of the store's coded columns, which a reader sees only as their labels.
CODES = frozenset(schema.CHANNELS + schema.PETITION_CHANNELS + schema.CASE_STATUSES + schema.PETITION_STATUSES
                  + schema.EVENT_RESULTS + schema.SATISFACTION + ("worsening", "improving", "stable"))
#: The codes as whole ASCII words, never right in Chinese text (Chinese text has no lowercase English words).
CODE_WORDS = re.compile(r"(?<![A-Za-z_])(" + "|".join(sorted(CODES, key=len, reverse=True)) + r")(?![A-Za-z_])")


def raw_tokens(text: str, lang: str) -> list[str]:
    """The raw tokens in a visible `text` of the page in `lang`: empty values, key names, `trend_`, and (in
    Chinese) code words."""
    found = EMPTY_WORDS.findall(text)
    found += [k for k in KEY_TOKEN.findall(text) if k in KEYS or k.endswith("_") and any(
        key.startswith(k) for key in KEYS)]
    if lang == "zh":
        found += CODE_WORDS.findall(text)
    return found


def _labels(lang: str) -> set[str]:
    return {v for v in catalogue(lang).values() if isinstance(v, str)}


def raw_cells(values, lang: str) -> list[str]:
    """Table cells that show a raw code (a code that is not also a label in `lang`, as `stable` is in English)
    or an empty value as a word."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and v != v):
            out.append(repr(v))
        elif isinstance(v, str) and (v in CODES and v not in _labels(lang) or raw_tokens(v, lang)):
            out.append(v)
    return out
