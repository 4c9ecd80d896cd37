"""Pseudonymisation and PII scrubbing: personal identifiers never reach the store in clear."""
from __future__ import annotations

import hashlib
import hmac
import re

import pandas as pd

from landdesk.settings import secret

#: Canonical columns that hold a person's identity; they are replaced by a keyed hash.
IDENTITY_COLUMNS = ("applicant_key", "petitioner_key", "handler_key")
#: Canonical free-text columns scrubbed of ID card and phone numbers.
FREE_TEXT_COLUMNS = ("summary",)
KEY_LENGTH = 32

ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
MOBILE = re.compile(r"(?<!\d)(?:(?:\+|00)?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
LANDLINE = re.compile(
    r"(?<!\d)(?:\(0\d{2,3}\)|0\d{2,3})[- ]?\d{7,8}(?:-\d{1,4})?(?!\d)"       # with area code
    r"|(?<=电话)[:：]?\s*[2-9]\d{6,7}(?!\d)|(?<=座机)[:：]?\s*[2-9]\d{6,7}(?!\d)"  # bare, after a keyword
)
ID_TOKEN = "[身份证号]"
PHONE_TOKEN = "[电话]"


def pseudonym(value: str, key: bytes | None = None) -> str:
    """HMAC-SHA256 of one identifier (trimmed), hex, truncated: stable, not reversible without the key."""
    key = secret() if key is None else key
    return hmac.new(key, value.strip().encode("utf-8"), hashlib.sha256).hexdigest()[:KEY_LENGTH]


def pseudonymise(series: pd.Series) -> pd.Series:
    """Replace every non-empty value by its pseudonym (hashing each distinct value once)."""
    key = secret()
    text = series.astype("string").str.strip()
    text = text.mask(text == "")
    uniques = text.dropna().unique()
    table = {v: pseudonym(v, key) for v in uniques}
    return text.map(table).astype(object).where(text.notna(), None)


def scrub_text(text: str) -> str:
    """Replace 18-digit ID card numbers and Chinese mobile / landline numbers in one string."""
    text = ID_NUMBER.sub(ID_TOKEN, text)
    text = MOBILE.sub(PHONE_TOKEN, text)
    return LANDLINE.sub(PHONE_TOKEN, text)


def scrub(series: pd.Series) -> pd.Series:
    """Vectorised `scrub_text` over a text column (nulls stay null)."""
    text = series.astype("string")
    text = text.str.replace(ID_NUMBER, ID_TOKEN, regex=True)
    text = text.str.replace(MOBILE, PHONE_TOKEN, regex=True)
    text = text.str.replace(LANDLINE, PHONE_TOKEN, regex=True)
    return text.astype(object).where(text.notna(), None)


def protect(frame: pd.DataFrame) -> pd.DataFrame:
    """Pseudonymise identity columns and scrub free text of a canonical frame, in place and returned."""
    for col in IDENTITY_COLUMNS:
        if col in frame.columns:
            frame[col] = pseudonymise(frame[col])
    for col in FREE_TEXT_COLUMNS:
        if col in frame.columns:
            frame[col] = scrub(frame[col])
    return frame
