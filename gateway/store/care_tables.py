"""Tables of the isolation's paperwork (schema 5): the resident's link, authorized windows
(pre-reports and visits), symptom checks, service requests, notice receipts, sign-offs, releases
and daily reports. Times are epoch seconds (REAL), as everywhere in the store."""

from __future__ import annotations

import sqlalchemy as sa

from gateway.store.meta import metadata

# The QR link's secret is derived from the gateway's link key and the generation; only its hash
# is kept, to find the household a link names. Rotating bumps the generation.
resident_links = sa.Table(
    "resident_links",
    metadata,
    sa.Column("household_id", sa.String(64), primary_key=True),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("rotated_at", sa.Float, nullable=False),
)

# Authorized openings besides the site file's visits: a resident's pre-report, a console visit.
care_windows = sa.Table(
    "care_windows",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("household_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, doc="prereport | visit"),
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("starts_at", sa.Float, nullable=False),
    sa.Column("ends_at", sa.Float, nullable=False),
    sa.Column("escort", sa.String(64), doc="the staff member escorting a visit"),
    sa.Column("by", sa.String(64), nullable=False, doc="resident, or the user who entered it"),
    sa.Column("via", sa.String(16), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_care_windows_household", "household_id", "starts_at"),
)

# Twice-daily symptom checks; a reading window that ended without one is a row with no symptoms.
symptom_checks = sa.Table(
    "symptom_checks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("household_id", sa.String(64), nullable=False),
    sa.Column("resident_id", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("window_start", sa.Float, doc="the reading window it belongs to, if any"),
    sa.Column("symptoms", sa.JSON, doc="the symptoms reported ([] none); NULL: missed check"),
    sa.Column("by", sa.String(64), nullable=False),
    sa.Column("via", sa.String(16), nullable=False, doc="page | console | rest | system"),
    sa.Column("alert_id", sa.String(26)),
    sa.Index("ix_symptom_checks_household", "household_id", "at"),
)

# Daily services a resident asks for (supplies, garbage pickup): tasks for the watcher on duty.
service_requests = sa.Table(
    "service_requests",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("household_id", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, doc="supplies | garbage"),
    sa.Column("note", sa.String(200)),
    sa.Column("requested_at", sa.Float, nullable=False),
    sa.Column("via", sa.String(16), nullable=False),
    sa.Column("done_by", sa.String(64)),
    sa.Column("done_at", sa.Float),
    sa.Index("ix_service_requests_household", "household_id", "requested_at"),
)

notice_receipts = sa.Table(
    "notice_receipts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("household_id", sa.String(64), nullable=False, index=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("by", sa.String(64), nullable=False),
    sa.Column("via", sa.String(16), nullable=False),
)

# Sign-offs towards release, one per role and isolation period.
signoffs = sa.Table(
    "signoffs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("household_id", sa.String(64), nullable=False),
    sa.Column("period_start", sa.Float, nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("by", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("note", sa.Text),
    sa.UniqueConstraint("household_id", "period_start", "role", name="uq_signoffs_role"),
)

# Released households, the archived report's hash, and what the purge left (counts).
releases = sa.Table(
    "releases",
    metadata,
    sa.Column("household_id", sa.String(64), primary_key=True),
    sa.Column("period_start", sa.Float, primary_key=True),
    sa.Column("period_end", sa.Float, nullable=False),
    sa.Column("released_at", sa.Float, nullable=False),
    sa.Column("seal_removed_by", sa.String(64), nullable=False),
    sa.Column("report_sha256", sa.String(64), doc="of the archived PDF"),
    sa.Column("report_html_sha256", sa.String(64), doc="of the archived HTML"),
    sa.Column("report_path", sa.String(256), doc="relative to the data dir, without suffix"),
    sa.Column("purged_at", sa.Float),
    sa.Column("counts", sa.JSON, doc="what was purged, counted"),
)

# The daily report, made once per local day at the configured time.
daily_reports = sa.Table(
    "daily_reports",
    metadata,
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("generated_at", sa.Float, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("sent_at", sa.Float),
)

TABLES = (
    resident_links,
    care_windows,
    symptom_checks,
    service_requests,
    notice_receipts,
    signoffs,
    releases,
    daily_reports,
)
