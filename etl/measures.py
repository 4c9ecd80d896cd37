"""Per-record facts the cockpit's metrics (analytics.kpis) and the marts (etl.marts) share, defined once:
which channels are online, which statuses complete a case, and whether a petition was replied in time."""
from __future__ import annotations

import numpy as np
import pandas as pd

from etl.workcal import local_days

ONLINE_CHANNELS = ("online", "mobile")
DONE_STATUSES = ("closed", "rejected")
GOOD_RATING = 3
REPLY_DAYS, REPLY_EXTENSION_DAYS = 60, 30


def replied_on_time(df: pd.DataFrame) -> np.ndarray:
    """Per replied petition (received_at, replied_at, extended): replied within 60 calendar days (90 when extended)."""
    limit = np.where(df["extended"].astype(object).fillna(False).astype(bool), REPLY_DAYS + REPLY_EXTENSION_DAYS,
                     REPLY_DAYS)
    days = (local_days(df["replied_at"]) - local_days(df["received_at"])).dt.days     # by the bureau's dates
    return days.to_numpy() <= limit
