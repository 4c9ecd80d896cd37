"""Retries with exponential backoff: a failed attempt is retried after backoff, 2×backoff, 4×backoff … seconds."""
from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Attempts:
    ok: bool
    attempts: int
    error: str | None = None


def with_retries(action, attempts: int, backoff: float, sleep=time.sleep) -> Attempts:
    """Call `action()` until it returns without raising, at most `attempts` times; the last error is reported
    as one line (type and message), never raised."""
    error = None
    for i in range(max(1, attempts)):
        if i:
            sleep(backoff * 2 ** (i - 1))
        try:
            action()
            return Attempts(True, i + 1)
        except Exception as exc:  # noqa: BLE001 - any failure of one recipient is recorded, the others go on
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip(": ")[:500]
    return Attempts(False, max(1, attempts), error)
