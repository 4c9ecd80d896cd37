"""The event fetch as it was before issue 20 (every event of the touched cases read into pandas, the in-case context
computed there, then cut to the period): kept only as the oracle that tests/test_process_sql.py compares the
SQL-windowed `analytics.process.scoped_events` against, frame for frame."""
from __future__ import annotations

import numpy as np
from sqlalchemy import func, select, tuple_

from analytics.casefilter import apply as apply_filter, period_cases, sql_filters
from analytics.process import EVENT_COLUMNS, case_runs, same_case_join
from analytics.sqlframe import fetch_frame
from etl.schema import case_events, cases


def scoped_events(conn, scope, cal=None):
    """The pre-issue-20 `analytics.process.scoped_events`, unchanged."""
    e, c = case_events.c, cases.c
    f = scope.cases
    by_case = period_cases(f, scope, cases)
    if by_case is None:
        touched = select(e.system, e.case_id).where(scope.in_period(e.completed_at))
    else:
        touched = select(c.system, c.case_id).where(by_case)
    q = (select(e.case_id, e.seq, e.stage, func.coalesce(e.department, c.department).label("department"),
                e.handler_key.label("handler"), e.started_at, e.completed_at, e.result, c.received_at, c.closed_at,
                e.system)
         .select_from(same_case_join())
         .where(tuple_(e.system, e.case_id).in_(touched), *scope.filters(cases), *sql_filters(f, cases))
         .order_by(e.system, e.case_id, e.seq))
    frame = fetch_frame(conn, q, EVENT_COLUMNS[:10] + ["system"])
    same_case = case_runs(frame)
    frame["prev_completed_at"] = frame["completed_at"].shift().where(same_case)
    frame["prev_stage"] = frame["stage"].shift().where(same_case)
    frame["is_last"] = np.r_[~same_case[1:], True] if len(frame) else np.zeros(0, dtype=bool)
    frame["case_key"] = np.cumsum(~same_case) - 1
    frame["occurrence"] = frame.groupby(["case_key", "stage"], sort=False).cumcount().to_numpy() + 1
    if f is not None and f.case_level():
        frame = apply_filter(frame, f, cal)
    if by_case is not None:
        return frame[EVENT_COLUMNS].reset_index(drop=True)
    done = frame["completed_at"]
    keep = ((done >= scope.start_ts) & (done < scope.end_ts)).to_numpy()
    return frame.loc[keep, EVENT_COLUMNS].reset_index(drop=True)
