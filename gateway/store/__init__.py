"""The one place that speaks SQL: named operations, each one transaction.

SQLite (WAL) through aiosqlite by default; every statement is SQLAlchemy Core so that a
PostgreSQL URL works the same way. Times are stored as epoch seconds. The operations are
grouped by aggregate, one module each; :class:`Store` is all of them on one engine.
"""

from __future__ import annotations

from gateway.store.alerts import AlertsOps
from gateway.store.audit import AuditOps
from gateway.store.care import CareOps
from gateway.store.events import EventsOps
from gateway.store.handovers import HandoversOps
from gateway.store.intake import REJECTED_KEEP, UNKNOWN_KEEP, IntakeOps
from gateway.store.outbox import OutboxOps
from gateway.store.purge import PurgeOps
from gateway.store.reports import ReportsOps
from gateway.store.site import SiteOps
from gateway.store.users import UsersOps, token_hash


class Store(
    EventsOps,
    AlertsOps,
    OutboxOps,
    IntakeOps,
    SiteOps,
    UsersOps,
    AuditOps,
    HandoversOps,
    CareOps,
    ReportsOps,
    PurgeOps,
):
    """Named operations on the gateway's database (open it with ``Store.open(url)``)."""


__all__ = ["REJECTED_KEEP", "UNKNOWN_KEEP", "Store", "token_hash"]
