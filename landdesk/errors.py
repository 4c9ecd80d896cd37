"""The one error type users see: input or environment at fault, told as one sentence (no traceback)."""
from __future__ import annotations


class LandDeskError(Exception):
    """An error caused by input or environment, reported to the user as one sentence."""
