"""Tables of the store and the migration path between schema versions.

A new database is created at the newest schema with ``create_all`` and stamped with its version;
an older one is brought forward by the ordered migrations below, written with Alembic operations
so that they run on SQLite and PostgreSQL alike. Times are epoch seconds (REAL).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa

# The isolation's paperwork (schema 5) registers its tables on the same metadata.
from gateway.store import care_tables
from gateway.store.meta import metadata

if TYPE_CHECKING:
    # Alembic (with Mako and Pygments) is ~12 MiB resident: imported only when a database
    # needs a migration, never by a gateway whose database is current.
    from alembic.operations import Operations

schema_version = sa.Table(
    "schema_version", metadata, sa.Column("version", sa.Integer, nullable=False)
)

# The append-only event log: every event the gateway accepted.
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("ts", sa.Float, nullable=False, doc="device time, or receipt time when it gave none"),
    sa.Column("source", sa.String(16), nullable=False, doc="mqtt | serial"),
    sa.Column("topic", sa.String(512), nullable=False),
    sa.Column("device_key", sa.String(160), nullable=False, doc="protocol:address"),
    sa.Column("device_id", sa.String(64)),
    sa.Column("household_id", sa.String(64)),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("seq", sa.BigInteger),
    sa.Column("report", sa.String(32), doc="change | repeat | bounce, and the door verdict"),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column(
        "digest", sa.String(32), nullable=False, doc="of topic + payload: spots redeliveries"
    ),
    sa.Column("mid", sa.Integer, doc="the broker's packet id: a redelivery has the same"),
    sa.Column("ts_flag", sa.String(32), doc="why ts is the receipt time, not the device's"),
    # A redelivery is looked up by device and receipt time: an index on the digest (a random
    # key) cost more than the other three together on every insert (schema 6).
    sa.Index("ix_events_device_received", "device_key", "received_at"),
    # Not unique: a device that restarts counts from zero again.
    sa.Index("ix_events_device_seq", "device_key", "seq"),
    sa.Index("ix_events_household_ts", "household_id", "ts"),
    # The replay of the last readings at a start and the daily report read one kind by time
    # (schema 7; it replaced (device_id, ts), which no query used: a cheaper insert, since
    # times grow and each kind's entries go at the end).
    sa.Index("ix_events_kind_ts", "kind", "ts"),
)

rejected = sa.Table(
    "rejected",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("received_at", sa.Float, nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("topic", sa.String(512), nullable=False),
    sa.Column("device_key", sa.String(160)),
    sa.Column("reason", sa.String(512), nullable=False),
    sa.Column("payload", sa.Text, nullable=False, doc="an excerpt, printable"),
)

unknown_devices = sa.Table(
    "unknown_devices",
    metadata,
    sa.Column("device_key", sa.String(160), primary_key=True),
    sa.Column("protocol", sa.String(16), nullable=False),
    sa.Column("address", sa.String(128), nullable=False),
    sa.Column("topic", sa.String(512), nullable=False),
    sa.Column("first_seen", sa.Float, nullable=False),
    sa.Column("last_seen", sa.Float, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("last_payload", sa.Text, nullable=False),
)

# Last known state of each bound device: a projection kept in step with the event log.
device_state = sa.Table(
    "device_state",
    metadata,
    sa.Column("device_id", sa.String(64), primary_key=True),
    sa.Column("household_id", sa.String(64), nullable=False),
    sa.Column("last_seen", sa.Float),
    sa.Column("online", sa.Boolean),
    sa.Column("status_at", sa.Float),
    sa.Column("battery", sa.Integer),
    sa.Column("door_open", sa.Boolean),
    sa.Column("door_changed_at", sa.Float),
    sa.Column("last_celsius", sa.Float),
    sa.Column("last_reading_at", sa.Float),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("household_id", sa.String(64), nullable=False),
    sa.Column("device_id", sa.String(64)),
    sa.Column(
        "active_key",
        sa.String(200),
        unique=True,
        doc="household|type|device while active, else NULL",
    ),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("raised_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("last_seen_at", sa.Float, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Column("recipients", sa.JSON, nullable=False),
    sa.Column("escalation_level", sa.Integer, nullable=False),
    sa.Column("next_escalation_at", sa.Float),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("snapshot", sa.String(256)),
    sa.Column("acked_by", sa.String(64)),
    sa.Column("acked_at", sa.Float),
    sa.Column("resolved_by", sa.String(64)),
    sa.Column("resolved_at", sa.Float),
    sa.Column("note", sa.Text),
    sa.Column("seen_at", sa.Float, doc="when a camera saw someone at the door around it"),
    sa.Column("resident_id", sa.String(64), doc="the resident it is about (symptom, readings)"),
    sa.Column("vulnerable", sa.JSON, doc="the vulnerability flags of whom it is about"),
    sa.Index("ix_alerts_status", "status", "raised_at"),
    sa.Index("ix_alerts_household", "household_id", "raised_at"),
)

alert_history = sa.Table(
    "alert_history",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.String(26), nullable=False, index=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("by", sa.String(64)),
    sa.Column("note", sa.Text),
    sa.Column("via", sa.String(16), doc="how an action arrived: console | rest | mqtt | link"),
)

# Notifications to deliver, written in the same transaction as the alert change they announce.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("alert_id", sa.String(26), nullable=False, index=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("recipient", sa.String(64), nullable=False, doc="a person id, or * for everyone"),
    sa.Column("target", sa.String(512), nullable=False, doc="topic, URL or phone number"),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column(
        "state", sa.String(16), nullable=False, doc="pending | delivered | cancelled | failed"
    ),
    sa.Column("cancel_on_ack", sa.Boolean, nullable=False, default=False),
    sa.Column("delivered_at", sa.Float),
    sa.Column("last_error", sa.String(512)),
    sa.Index("ix_outbox_due", "state", "next_attempt_at"),
)

# The site: one JSON document per staff member and household; roster, policy, zone as meta.
site_entities = sa.Table(
    "site_entities",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("doc", sa.JSON, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

site_meta = sa.Table(
    "site_meta",
    metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float, doc="set by `isogate user revoke`: the token is dead"),
)

# Console sessions: the cookie holds a random id; only its hash is kept.
sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("user_name", sa.String(64), nullable=False, index=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("ended_at", sa.Float, doc="logout or revocation"),
)

# Who read or did what, when: append-only (the store has no operation that changes a row).
audit = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("action", sa.String(48), nullable=False),
    sa.Column("target", sa.String(160)),
    sa.Column("household", sa.String(64), index=True),
    sa.Column("via", sa.String(16), nullable=False, doc="console | rest | mqtt | cli | link"),
    sa.Column("detail", sa.String(1000)),
)

# Shift handovers: what the incoming watchers took over, and whether they accepted it.
handovers = sa.Table(
    "handovers",
    metadata,
    sa.Column("id", sa.String(26), primary_key=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("watchers", sa.JSON, nullable=False, doc="the incoming watchers"),
    sa.Column("alert_ids", sa.JSON, nullable=False, doc="the unresolved alerts handed over"),
    sa.Column("accepted_by", sa.String(64)),
    sa.Column("accepted_at", sa.Float),
    sa.Column("escalated_at", sa.Float),
)

SCHEMA_VERSION = 7


def _v2(op: Operations) -> None:
    """Packet ids and time flags on events; (device, seq) may repeat after a device restart."""
    op.add_column("events", sa.Column("mid", sa.Integer))
    op.add_column("events", sa.Column("ts_flag", sa.String(32)))
    op.drop_index("ix_events_device_seq", table_name="events")
    op.create_index("ix_events_device_seq", "events", ["device_key", "seq"])


def _v3(op: Operations) -> None:
    """A door alert notes when a camera saw someone at the door around it."""
    op.add_column("alerts", sa.Column("seen_at", sa.Float))


def _v4(op: Operations) -> None:
    """Console access: revocation, sessions, the audit log, handovers, how actions arrived."""
    op.add_column("users", sa.Column("revoked_at", sa.Float))
    op.add_column("alert_history", sa.Column("via", sa.String(16)))
    bind = op.get_bind()
    for table in (sessions, audit, handovers):
        table.create(bind)


def _v5(op: Operations) -> None:
    """The isolation's paperwork: resident links, windows, symptoms, services, release."""
    op.add_column("alerts", sa.Column("resident_id", sa.String(64)))
    op.add_column("alerts", sa.Column("vulnerable", sa.JSON))
    bind = op.get_bind()
    for table in care_tables.TABLES:
        table.create(bind)


def _v6(op: Operations) -> None:
    """Redeliveries looked up by device and receipt time: the digest's index goes."""
    op.drop_index("ix_events_digest", table_name="events")
    op.create_index("ix_events_device_received", "events", ["device_key", "received_at"])


def _v7(op: Operations) -> None:
    """Events read by kind and time; the index by device and time, which nothing read, goes."""
    op.drop_index("ix_events_device_ts", table_name="events")
    op.create_index("ix_events_kind_ts", "events", ["kind", "ts"])


# version → upgrade step from version-1; add new steps here and bump SCHEMA_VERSION.
MIGRATIONS: dict[int, Callable[[Operations], None]] = {
    2: _v2,
    3: _v3,
    4: _v4,
    5: _v5,
    6: _v6,
    7: _v7,
}


def upgrade(conn: sa.Connection) -> int:
    """Bring the database to SCHEMA_VERSION; returns the version it was at (0: new)."""
    inspector = sa.inspect(conn)
    if not inspector.has_table("schema_version"):
        metadata.create_all(conn)
        conn.execute(schema_version.insert().values(version=SCHEMA_VERSION))
        return 0
    current = int(conn.execute(sa.select(schema_version.c.version)).scalar_one())
    if current > SCHEMA_VERSION:
        raise RuntimeError(
            f"database schema {current} is newer than this isogate ({SCHEMA_VERSION})"
        )
    if current == SCHEMA_VERSION:
        return current
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    ops = Operations(MigrationContext.configure(conn))
    for version in range(current + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[version](ops)
        conn.execute(schema_version.update().values(version=version))
    return current
