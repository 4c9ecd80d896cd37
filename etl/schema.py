"""The analytics store's schema: every canonical table of DESIGN.md, defined once.

Timestamps (DateTime columns) are absolute instants stored as naive UTC on every dialect
(`timestamp without time zone` on PostgreSQL), so SQLite and PostgreSQL agree on every value and
durations are exact across daylight saving; the bureau's zone (LANDDESK_TIMEZONE) is applied only
to calendar questions (analytics.workcal.local_days) and display. Date columns are local calendar days.
"""
from __future__ import annotations

from sqlalchemy import (
    BigInteger, Boolean, CheckConstraint, Column, Date, DateTime, Float, ForeignKey, ForeignKeyConstraint, Index, Integer,
    MetaData, String, Table, Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

CHANNELS = ("window", "online", "mobile", "mail", "other")
CASE_STATUSES = ("open", "closed", "withdrawn", "rejected")
EVENT_RESULTS = ("pass", "return", "reject", "other")
PETITION_CHANNELS = ("letter", "visit", "online", "hotline", "other")
SATISFACTION = ("satisfied", "basic", "unsatisfied")
PETITION_STATUSES = ("open", "accepted", "replied", "closed", "rejected")
BATCH_STATUSES = ("running", "loaded", "skipped", "failed", "undone")


#: The source system of records whose mapping names none (DESIGN.md: "one shared default").
DEFAULT_SYSTEM = "default"


def _system() -> Column:
    """The source system whose ids these are (a mapping's `system:`); part of the natural key."""
    return Column("system", String(100), primary_key=True, server_default=DEFAULT_SYSTEM)


def _batch_fk() -> Column:
    return Column("batch_id", Integer, ForeignKey("etl_batches.batch_id"), nullable=True)


etl_batches = Table(
    "etl_batches", metadata,
    Column("batch_id", Integer, primary_key=True, autoincrement=True),
    Column("mapping", String(500), nullable=False),
    Column("dataset", String(40), nullable=False),
    Column("source", String(1000), nullable=False),
    Column("source_sha256", String(64), nullable=True),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=True),
    Column("rows_read", Integer, nullable=False, default=0),
    Column("rows_loaded", Integer, nullable=False, default=0),
    Column("rows_rejected", Integer, nullable=False, default=0),
    Column("status", String(20), nullable=False),
    Column("message", Text, nullable=True),
    Column("rows_updated", Integer, nullable=True),   # records that existed before the batch (null: not counted)
    Column("system", String(100), nullable=True),     # the source system of its records (null: a dataset without one)
    comment="Grain: one row per load of one mapping (a batch).",
)
Index("ix_etl_batches_mapping_sha", etl_batches.c.mapping, etl_batches.c.source_sha256)

etl_rejects = Table(
    "etl_rejects", metadata,
    Column("reject_id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", Integer, ForeignKey("etl_batches.batch_id"), nullable=False, index=True),
    Column("row_number", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("raw", Text, nullable=True),
    comment="Grain: one row per rejected source record (and reason) of a batch. Raw content is pseudonymised.",
)

cases = Table(
    "cases", metadata,
    _system(),
    Column("case_id", String(100), primary_key=True),
    Column("case_type", String(100), nullable=True),
    Column("service_item", String(200), nullable=True),
    Column("department", String(100), nullable=True),
    Column("township", String(100), nullable=True),
    Column("channel", String(20), nullable=True),
    Column("received_at", DateTime, nullable=False),
    Column("closed_at", DateTime, nullable=True),
    Column("status", String(20), nullable=False),
    Column("outcome", String(100), nullable=True),
    Column("statutory_days", Integer, nullable=True),
    Column("promised_days", Integer, nullable=True),
    Column("visits", Integer, nullable=True),
    Column("rating", Integer, nullable=True),
    Column("applicant_key", String(64), nullable=True),
    _batch_fk(),
    CheckConstraint("rating IS NULL OR (rating BETWEEN 1 AND 5)", name="rating_range"),
    CheckConstraint("visits IS NULL OR visits >= 0", name="visits_nonneg"),
    comment="Grain: one row per case (办件) of a source system; (system, case_id) is the natural key.",
)
Index("ix_cases_received_at", cases.c.received_at)
Index("ix_cases_closed_at", cases.c.closed_at)
Index("ix_cases_township", cases.c.township)
Index("ix_cases_case_type", cases.c.case_type)

case_events = Table(
    "case_events", metadata,
    _system(),
    Column("case_id", String(100), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("stage", String(200), nullable=False),
    Column("department", String(100), nullable=True),
    Column("handler_key", String(64), nullable=True),
    Column("started_at", DateTime, nullable=True),
    Column("completed_at", DateTime, nullable=False),
    Column("result", String(20), nullable=True),
    _batch_fk(),
    ForeignKeyConstraint(["system", "case_id"], ["cases.system", "cases.case_id"], ondelete="CASCADE"),
    comment="Grain: one row per stage event of a case; seq orders a case's events by time, ties by source order.",
)
Index("ix_case_events_stage", case_events.c.stage)
# (completed_at, system, case_id), migration 0013: the cases touched in a period come from the index alone, without a
# lookup into the table per event (the process exports' first step; docs/performance.md, "side by side at ×30").
Index("ix_case_events_completed_at_case", case_events.c.completed_at, case_events.c.system, case_events.c.case_id)

petitions = Table(
    "petitions", metadata,
    _system(),
    Column("petition_id", String(100), primary_key=True),
    Column("received_at", DateTime, nullable=False),
    Column("channel", String(20), nullable=True),
    Column("topic", String(200), nullable=True),
    Column("township", String(100), nullable=True),
    Column("department", String(100), nullable=True),
    Column("petitioner_key", String(64), nullable=True),
    Column("accepted_at", DateTime, nullable=True),
    Column("replied_at", DateTime, nullable=True),
    Column("closed_at", DateTime, nullable=True),
    Column("extended", Boolean, nullable=True),
    Column("satisfaction", String(20), nullable=True),
    Column("summary", Text, nullable=True),
    Column("status", String(20), nullable=True),
    _batch_fk(),
    comment="Grain: one row per petition (信访件) of a source system; summary is PII-scrubbed, petitioner_key a keyed hash.",
)
Index("ix_petitions_received_at", petitions.c.received_at)
# migration 0013: the data end (coverage.last_event: the latest of every event time) seeks these instead of
# scanning the table, and the reply-rate KPI searches replied_at.
Index("ix_petitions_accepted_at", petitions.c.accepted_at)
Index("ix_petitions_replied_at", petitions.c.replied_at)
Index("ix_petitions_closed_at", petitions.c.closed_at)

land_use = Table(
    "land_use", metadata,
    Column("region_code", String(20), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("category_code", String(10), primary_key=True),
    Column("region_name", String(100), nullable=True),
    Column("area_ha", Float, nullable=False),
    _batch_fk(),
    CheckConstraint("area_ha >= 0", name="area_nonneg"),
    comment="Grain: one row per region × year × GB/T 21010 category (first or second level).",
)

land_supply = Table(
    "land_supply", metadata,
    _system(),
    Column("supply_id", String(100), primary_key=True),
    Column("region_code", String(20), nullable=True),
    Column("region_name", String(100), nullable=True),
    Column("approved_at", Date, nullable=True),
    Column("supplied_at", Date, nullable=True),
    Column("purpose", String(100), nullable=True),
    Column("method", String(40), nullable=True),
    Column("area_ha", Float, nullable=False),
    Column("price", Float, nullable=True),
    Column("agreed_start", Date, nullable=True),
    Column("actual_start", Date, nullable=True),
    _batch_fk(),
    CheckConstraint("area_ha >= 0", name="area_nonneg"),
    comment="Grain: one row per approved or supplied parcel / transaction of a source system.",
)

targets = Table(
    "targets", metadata,
    Column("indicator", String(100), primary_key=True),
    Column("region_code", String(20), primary_key=True),
    Column("period", String(20), primary_key=True),
    Column("value", Float, nullable=False),
    _batch_fk(),
    comment="Grain: one row per indicator × region × period (e.g. 耕地保有量 2026, on-time-rate 2025).",
)

calendar = Table(
    "calendar", metadata,
    Column("date", Date, primary_key=True),
    Column("is_workday", Boolean, nullable=False),
    Column("note", String(100), nullable=True),
    comment="Grain: one row per date whose working-day status overrides the official calendar library.",
)

REGION_LEVELS = ("county", "township", "village")
#: The one geographic CRS every stored geometry is in: CGCS2000 (国家2000大地坐标系), longitude/latitude degrees.
STORE_CRS = "EPSG:4490"
STORE_SRID = 4490

regions = Table(
    "regions", metadata,
    Column("region_code", String(20), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("level", String(20), nullable=False),
    Column("parent", String(20), nullable=True),
    Column("population", Integer, nullable=True),
    Column("geometry", Text, nullable=True),     # GeoJSON text in STORE_CRS, or PostGIS geometry (etl.spatial)
    _batch_fk(),
    CheckConstraint("level IN ('county', 'township', 'village')", name="level_known"),
    CheckConstraint("population IS NULL OR population >= 0", name="population_nonneg"),
    comment="Grain: one row per administrative area (county, township, village); geometry is GeoJSON in EPSG:4490.",
)
Index("ix_regions_name", regions.c.name)

land_parcels = Table(
    "land_parcels", metadata,
    Column("parcel_id", String(100), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("category_code", String(10), nullable=False),
    Column("area_ha", Float, nullable=False),
    Column("region_code", String(20), nullable=True),
    Column("geometry", Text, nullable=True),     # GeoJSON text in STORE_CRS
    _batch_fk(),
    CheckConstraint("area_ha >= 0", name="area_nonneg"),
    comment="Grain: one row per land-survey parcel (图斑) × survey year; geometry is GeoJSON in EPSG:4490.",
)
Index("ix_land_parcels_year_region", land_parcels.c.year, land_parcels.c.region_code)

STAGE_ROLES = ("supplement",)

stage_roles = Table(
    "stage_roles", metadata,
    Column("stage", String(200), primary_key=True),
    Column("role", String(20), primary_key=True),
    _batch_fk(),
    comment="Grain: one row per stage name × role ('supplement': a return to the applicant for supplementary "
            "material, 补正), declared by a mapping's supplement_stages.",
)

# --- The statutory process (法定流程, issue 14) ---------------------------------------------------

reference_process = Table(
    "reference_process", metadata,
    Column("case_type", String(200), primary_key=True),
    Column("stage", String(200), primary_key=True),
    Column("stage_order", Integer, nullable=False),          # position in the reference (1 = first)
    Column("mandatory", Boolean, nullable=False),
    Column("limit_workdays", Float, nullable=True),          # the stage's time limit in working days (null: none)
    Column("initial", Boolean, nullable=False),              # a case may begin with this stage
    Column("successors", Text, nullable=False),              # JSON list of the stages allowed to follow it
    _batch_fk(),
    comment="Grain: one row per case type × stage of the bureau's statutory reference process (法定流程): order, "
            "mandatory, limit in working days, the allowed moves out of the stage.",
)

#: Natural key of every dataset a mapping can load; upserts conflict on these columns. Case, petition and
#: supply ids are unique within their source system only, so `system` leads those keys.
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "cases": ("system", "case_id"),
    "case_events": ("system", "case_id", "seq"),
    "petitions": ("system", "petition_id"),
    "land_use": ("region_code", "year", "category_code"),
    "land_supply": ("system", "supply_id"),
    "targets": ("indicator", "region_code", "period"),
    "calendar": ("date",),
    "regions": ("region_code",),
    "land_parcels": ("parcel_id", "year"),
}

#: Datasets whose records belong to a source system (their natural key starts with `system`).
SYSTEM_DATASETS = tuple(name for name, key in NATURAL_KEYS.items() if key[0] == "system")

DATASETS: dict[str, Table] = {
    "cases": cases,
    "case_events": case_events,
    "petitions": petitions,
    "land_use": land_use,
    "land_supply": land_supply,
    "targets": targets,
    "calendar": calendar,
    "regions": regions,
    "land_parcels": land_parcels,
}

# --- Access control and audit (issue 8) -------------------------------------------------------

ROLES = ("leader", "planner", "analyst", "township_officer", "admin")

users = Table(
    "users", metadata,
    Column("username", String(100), primary_key=True),
    Column("display_name", String(200), nullable=True),
    Column("role", String(20), nullable=False),
    Column("township", String(100), nullable=True),
    Column("password_hash", String(255), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime, nullable=False),
    Column("password_changed_at", DateTime, nullable=True),
    CheckConstraint("role IN ('leader', 'planner', 'analyst', 'township_officer', 'admin')", name="role_known"),
    CheckConstraint("role <> 'township_officer' OR township IS NOT NULL", name="officer_township"),
    comment="Grain: one row per dashboard account; password_hash is argon2id (never a clear password).",
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("username", String(100), nullable=True),
    Column("action", String(40), nullable=False),
    Column("detail", Text, nullable=True),
    Column("client", String(100), nullable=True),
    comment="Grain: one row per audited event (sign-in, failed sign-in, export, download, upload, ETL run, "
            "briefing, scope forced, user change); detail is JSON text. Append-only.",
)
Index("ix_audit_log_at", audit_log.c.at)
Index("ix_audit_log_username_action_at", audit_log.c.username, audit_log.c.action, audit_log.c.at)
Index("ix_audit_log_client_action_at", audit_log.c.client, audit_log.c.action, audit_log.c.at)

# --- Dashboard sessions (issue 15) -------------------------------------------------------------

#: Why a session ended (sessions.end_reason).
SESSION_END_REASONS = ("signed_out", "disabled", "expired")

sessions = Table(
    "sessions", metadata,
    Column("session_id", String(64), primary_key=True),
    Column("username", String(100), ForeignKey("users.username", ondelete="CASCADE"), nullable=False),
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("grant_hash", String(64), nullable=True, unique=True),
    Column("grant_expires_at", DateTime, nullable=True),
    Column("method", String(20), nullable=False),
    Column("client", String(100), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("last_seen_at", DateTime, nullable=False),
    Column("ended_at", DateTime, nullable=True),
    Column("end_reason", String(20), nullable=True),
    CheckConstraint("end_reason IS NULL OR end_reason IN ('signed_out', 'disabled', 'expired')",
                    name="end_reason_known"),
    comment="Grain: one row per dashboard sign-in (a browser session); token_hash and grant_hash are keyed "
            "hashes (HMAC with the store's secret), never the token itself.",
)
Index("ix_sessions_username_ended_at", sessions.c.username, sessions.c.ended_at)
# --- The exchange interface's tokens (issue 19) ----------------------------------------------

#: The roles an API token may carry: the dashboard's roles and `public` (the disclosure exports only).
TOKEN_ROLES = ROLES + ("public",)

api_tokens = Table(
    "api_tokens", metadata,
    Column("name", String(100), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(20), nullable=False),
    Column("township", String(100), nullable=True),
    Column("created_at", DateTime, nullable=False),
    Column("expires_at", DateTime, nullable=True),
    Column("revoked_at", DateTime, nullable=True),
    CheckConstraint("role IN ('leader', 'planner', 'analyst', 'township_officer', 'admin', 'public')",
                    name="role_known"),
    CheckConstraint("role <> 'township_officer' OR township IS NOT NULL", name="officer_township"),
    comment="Grain: one row per API token of another system (一网通办, 政务公开 …); token_hash is the SHA-256 of "
            "the token (never the token itself).",
)
# --- Delivery and alerts (issue 17) -------------------------------------------------------------

DELIVERY_CHANNELS = ("email", "dingtalk", "wecom", "feishu")
DELIVERY_STATUSES = ("sent", "failed")
ALERT_STATUSES = ("active", "resolved")

deliveries = Table(
    "deliveries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime, nullable=False),
    Column("subject", String(20), nullable=False),          # briefing | alert
    Column("week", String(10), nullable=True),              # the briefing's ISO week
    Column("alert_id", Integer, ForeignKey("alerts.id", ondelete="SET NULL"), nullable=True),
    Column("channel", String(20), nullable=False),
    Column("target", String(500), nullable=False),          # an address, or a webhook URL without its query
    Column("lang", String(5), nullable=True),
    Column("township", String(100), nullable=True),
    Column("formats", String(40), nullable=True),
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=True),
    CheckConstraint("status IN ('sent', 'failed')", name="status_known"),
    comment="Grain: one row per delivery of a briefing or an alert to one recipient or robot, with its outcome; "
            "webhook tokens are never stored (target is the URL without its query). Append-only.",
)
Index("ix_deliveries_week_at", deliveries.c.week, deliveries.c.at)

alerts = Table(
    "alerts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rule", String(60), nullable=False),
    Column("key", String(300), nullable=False),             # rule + what it is about (a township, the county)
    Column("fingerprint", String(64), nullable=False),      # sha256 of what the alert says: a change re-sends it
    Column("status", String(10), nullable=False),
    Column("first_seen", DateTime, nullable=False),
    Column("last_seen", DateTime, nullable=False),
    Column("sent_at", DateTime, nullable=True),             # last time it was delivered (null: not yet)
    Column("resolved_at", DateTime, nullable=True),
    Column("detail", Text, nullable=False),                 # JSON: numbers and ids only, no personal data
    CheckConstraint("status IN ('active', 'resolved')", name="status_known"),
    comment="Grain: one row per alert occurrence (a rule firing for one subject until it clears); detail is JSON "
            "with ids and numbers only.",
)
Index("ix_alerts_key_status", alerts.c.key, alerts.c.status)

# --- Summary tables ("marts", issue 20) ----------------------------------------------------------
# Maintained by etl.marts in the transaction of every load and undo; equal to a recompute from the base tables.
# Each row counts the records of one local day (LANDDESK_TIMEZONE, as mart_state records) and one combination
# of the dimensions the cockpit's scope filters on (a NULL dimension is its own combination).


def _mart_dims(*names: str) -> list[Column]:
    return [Column(n, String(100), nullable=True) for n in names]


mart_cases_received = Table(
    "mart_cases_received", metadata,
    Column("day", Date, nullable=False),
    *_mart_dims("township", "case_type", "department", "system"),
    Column("received", Integer, nullable=False),     # cases received that day
    Column("online", Integer, nullable=False),       # of them, through an online or mobile channel
    comment="Grain: one row per local day of received_at × township × case_type × department × system with "
            "cases received (a mart; etl.marts keeps it equal to the cases table).",
)
Index("ix_mart_cases_received_day", mart_cases_received.c.day)

mart_cases_closed = Table(
    "mart_cases_closed", metadata,
    Column("day", Date, nullable=False),
    *_mart_dims("township", "case_type", "department", "system"),
    Column("workdays", Integer, nullable=False),     # 办理时长 in working days (the store's calendar, mart_state)
    Column("closed", Integer, nullable=False),       # cases completed (closed or rejected) that day, this long
    Column("with_limit", Integer, nullable=False),   # of them, with a promised limit
    Column("on_time", Integer, nullable=False),      # of those, within it (workdays ≤ promised_days)
    Column("rated", Integer, nullable=False),        # of them, with a rating
    Column("good", Integer, nullable=False),         # of those, rated 3 or more of 5
    comment="Grain: one row per local day of closed_at × township × case_type × department × system × working "
            "days taken, over completed cases (a mart; etl.marts keeps it equal to the cases table).",
)
Index("ix_mart_cases_closed_day", mart_cases_closed.c.day)

mart_petitions_received = Table(
    "mart_petitions_received", metadata,
    Column("day", Date, nullable=False),
    *_mart_dims("township", "department", "system"),
    Column("received", Integer, nullable=False),     # petitions received that day
    comment="Grain: one row per local day of received_at × township × department × system with petitions "
            "received (a mart; etl.marts keeps it equal to the petitions table).",
)
Index("ix_mart_petitions_received_day", mart_petitions_received.c.day)

mart_petitions_replied = Table(
    "mart_petitions_replied", metadata,
    Column("day", Date, nullable=False),
    *_mart_dims("township", "department", "system"),
    Column("replied", Integer, nullable=False),      # petitions replied that day
    Column("on_time", Integer, nullable=False),      # of them, within 60 calendar days (90 when extended)
    comment="Grain: one row per local day of replied_at × township × department × system with petitions "
            "replied (a mart; etl.marts keeps it equal to the petitions table).",
)
Index("ix_mart_petitions_replied_day", mart_petitions_replied.c.day)

mart_event_times = Table(
    "mart_event_times", metadata,
    # Clustered by completion (SQLite: WITHOUT ROWID, the primary key is the table's order), so a period's events
    # are one contiguous range.
    Column("completed_at", DateTime, primary_key=True),
    Column("case_no", Integer, primary_key=True),           # one number per case (system, case_id), kept across refreshes
    Column("seq", Integer, primary_key=True),
    Column("system", String(100), nullable=False),
    Column("case_id", String(100), nullable=False),
    Column("township", String(100), nullable=True),         # the case's, for the scope's filters
    Column("case_type", String(100), nullable=True),
    Column("department", String(100), nullable=True),       # the case's department (a scope filter)
    Column("stage", String(200), nullable=False),
    Column("prev_stage", String(200), nullable=True),       # the previous event's stage in the case, else null
    Column("stage_code", Integer, nullable=False),          # mart_stages' codes of stage and prev_stage: the
    Column("prev_stage_code", Integer, nullable=True),      # readers fetch numbers, not a string per row
    Column("stage_department", String(100), nullable=True), # the event's department, else its case's
    Column("handler", String(64), nullable=True),           # the pseudonymised handler_key
    Column("result", String(20), nullable=True),
    Column("is_last", Boolean, nullable=False),             # no later event in the case
    Column("occurrence", Integer, nullable=False),          # 1 for the stage's first event in the case, 2 …
    Column("sojourn", Float, nullable=False),               # working days (docs/kpis.md, "Bottlenecks")
    Column("waiting", Float, nullable=True),                # null without a start time
    Column("processing", Float, nullable=True),
    Column("edge_time", Float, nullable=False),
    Column("edge_wait", Float, nullable=False),
    Column("end_time", Float, nullable=True),               # last event of a closed case: to closed_at (≥ 0), else null
    sqlite_with_rowid=False,
    comment="Grain: one row per stage event (system, case_id, seq) with its in-case context and its times in "
            "working days on the calendar mart_state records (a mart; etl.eventtimes keeps it equal to "
            "case_events and cases).",
)
Index("ix_mart_event_times_system_case_id", mart_event_times.c.system, mart_event_times.c.case_id)

mart_stages = Table(
    "mart_stages", metadata,
    Column("code", Integer, primary_key=True, autoincrement=False),
    Column("stage", String(200), nullable=False, unique=True),
    comment="Grain: one row per stage name the event-times mart has held: its code there (codes are never reused "
            "or renumbered).",
)

mart_state = Table(
    "mart_state", metadata,
    Column("name", String(20), primary_key=True),    # 'marts': the one row
    Column("timezone", String(64), nullable=False),  # the zone whose local days the marts count
    Column("calendar", String(64), nullable=False),  # sha256 of the working-day calendar the workdays used
    Column("cases", Integer, nullable=False),        # rows of cases, petitions and case_events then (before 0015,
    Column("petitions", Integer, nullable=False),    # the staleness check; since, `marks` is, and these are 0)
    Column("events", Integer, nullable=False, server_default="0"),
    Column("computed_at", DateTime, nullable=False),
    Column("marks", String(80), nullable=True),      # since 0015: the base tables' write mark then (etl.marks)
    comment="Grain: one row ('marts'): the zone, working-day calendar and base-tables write mark (before "
            "migration 0015: their row counts) the marts were computed for; readers use the marts only when "
            "these match.",
)

write_marks = Table(
    "write_marks", metadata,
    Column("name", String(20), primary_key=True),    # 'base': the one row
    Column("mark", BigInteger, nullable=False),      # bumped by the database's own triggers (migration 0015)
    comment="Grain: one row ('base'): a counter the database bumps on every write to cases, case_events and "
            "petitions (PostgreSQL: per statement; SQLite: per updated or deleted row, inserts show in the "
            "tables' max(rowid)); etl.marks reads it so caches and marts notice any write in O(1).",
)

# The integrity-risk reference (analytics.integrity) as assessed for one store state, kept so that every process
# and app server reads a period's assessed cases instead of learning the reference again (analytics.riskstore).
risk_reference = Table(
    "risk_reference", metadata,
    Column("closed_at", DateTime, primary_key=True),
    Column("case_key", String(220), primary_key=True),      # case id, or system + U+001F + case id (several systems)
    Column("system", String(100), nullable=False),
    Column("case_type", String(200), nullable=True),
    Column("township", String(100), nullable=True),
    Column("department", String(100), nullable=True),
    Column("received_at", DateTime, nullable=True),
    Column("hours", Float, nullable=True),                   # throughput in wall-clock hours
    Column("handler_key", String(64), nullable=True),       # the case's main handler (pseudonymised)
    Column("rules", String(200), nullable=False),           # comma-separated rule codes fired ('' none)
    Column("score", Float, nullable=True),                  # isolation-forest anomaly score
    Column("reason_zh", Text, nullable=False),
    Column("reason_en", Text, nullable=False),
    sqlite_with_rowid=False,
    comment="Grain: one row per case closed normally (status closed), assessed against the reference learned from "
            "every such case, as of the store state risk_reference_state records (a cache of "
            "analytics.integrity.assess_cases; readers use it only when that state is the store's).",
)

risk_reference_state = Table(
    "risk_reference_state", metadata,
    Column("name", String(20), primary_key=True),           # 'reference': the one row
    Column("store_state", String(200), nullable=False),     # data version and write mark the rows were assessed at
    Column("code", String(64), nullable=False),             # sha256 of the rules' code, reasons and libraries
    Column("computed_at", DateTime, nullable=False),
    comment="Grain: one row ('reference'): what risk_reference was computed for.",
)

MART_TABLES = (mart_cases_received, mart_cases_closed, mart_petitions_received, mart_petitions_replied)
