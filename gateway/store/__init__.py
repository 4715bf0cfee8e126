"""The one place that speaks SQL: named operations, each one transaction.

SQLite (WAL) through aiosqlite by default; every statement is SQLAlchemy Core so that a
PostgreSQL URL works the same way. Times are stored as epoch seconds. The operations are
grouped by aggregate, one module each; :class:`Store` is all of them on one engine.

The hot path (``commit`` of a pipeline step, ``outbox_done``) is planned: one multi-row
statement per table, built once per dialect (:mod:`gateway.store.plan`). On PostgreSQL the plan
runs through SQLAlchemy; on SQLite the statements are compiled once by SQLAlchemy and run on the
driver directly (:mod:`gateway.store.direct`), by the store's own writer connection on the event
loop's thread (:mod:`gateway.store.writer`), which hands a step to its thread when the database
is held by another writer. Through SQLAlchemy's asyncio layer a breach step cost 3.3 ms of CPU
(seven statements, each three or four hand-offs to aiosqlite's thread); planned and direct,
0.25 ms (``python -m bench.store``).
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
