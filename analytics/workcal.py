"""The working-day calendar and the bureau's clock, as analytics reads them: defined in `etl.workcal` (the ETL
needs the same arithmetic to maintain the marts, and etl does not import analytics); re-exported here."""
from etl.workcal import (  # noqa: F401
    _END, _EPOCH, TIME_UNITS, WorkCalendar, _calendar_for, _official_days, _ts, _zone, durations, load_calendar, local_days,
    local_instant, local_times, official_last_year, utc_instants,
)
