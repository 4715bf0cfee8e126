"""One pipeline step as a short list of statements: one multi-row statement per table.

:func:`plan` turns a :class:`Writes` into :class:`Op` s, each a prepared statement and its rows
(every device's state in one upsert, every alert change in one ``executemany``, and so on). The
statements are built once per dialect (:class:`Statements`) and reused, so that a step costs
neither the construction of SQLAlchemy expressions nor a compile. Two executors run a plan:
SQLAlchemy's (any database; ``EventsOps.commit``) and the driver itself (SQLite:
:mod:`gateway.store.direct`). The parts of a step that are rare and read back what they wrote
(unknown devices, handovers, the paperwork) are not in the plan: the SQLAlchemy code that
writes them runs in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from gateway.clock import epoch
from gateway.store import intake, rows
from gateway.store import schema as t
from gateway.store.audit import audit_rows
from gateway.store.event_data import EventData
from gateway.store.records import HistoryEntry, Writes


@dataclass(frozen=True, slots=True)
class Op:
    """One statement of a step and its rows (a row per execution, all with the same keys).

    No rows: the statement runs once, without parameters. ``returning``: the statement
    returns each row's new id (the outbox's), in row order. ``keys``: the rows are tuples of
    these columns' values, in this order (the event log's, the one table a step writes a row
    to per message); else each row is a dict.
    """

    name: str
    rows: Sequence[dict[str, Any]] | Sequence[tuple[Any, ...]]
    returning: bool = False
    keys: tuple[str, ...] | None = None

    def dicts(self) -> list[dict[str, Any]]:
        """The rows as dicts, whichever form they have."""
        keys = self.keys
        if keys is None:
            return list(self.rows)  # type: ignore[arg-type]
        return [dict(zip(keys, row, strict=True)) for row in self.rows]


class EventDataJSON(TypeDecorator[EventData]):
    """The events' ``data`` column, bound from an :class:`EventData`: its JSON object.

    ``memoized``: what it binds depends on the value alone (a frozen dataclass), so an executor
    may keep the text of values it saw; most door events say the same few things.
    """

    impl = sa.JSON
    cache_ok = True
    memoized = True

    def process_bind_param(self, value: EventData | None, dialect: Dialect) -> Any:
        return None if value is None else value.to_json()


def _upsert(dialect: str, table: sa.Table, key: str) -> Any:
    """``INSERT … ON CONFLICT (key) DO UPDATE`` of every other column, for SQLite or PostgreSQL."""
    insert = (sqlite if dialect == "sqlite" else postgresql).insert(table)
    others = {c.name: insert.excluded[c.name] for c in table.columns if c.name != key}
    return insert.on_conflict_do_update(index_elements=[key], set_=others)


class Statements:
    """The step's statements for one dialect, built once (SQLAlchemy caches their compiled form).

    ``UPDATE`` statements name their key parameter ``k_<column>`` so that a row dict can hold
    the column's new value and the key side by side.
    """

    def __init__(self, dialect: Dialect) -> None:
        if dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"the store runs on SQLite or PostgreSQL, not {dialect.name}")
        self.dialect = dialect
        a, o = t.alerts, t.outbox
        newest = sa.select(sa.func.max(t.rejected.c.id)).scalar_subquery()
        self.by_name: dict[str, Any] = {
            "events": t.events.insert().values(data=sa.bindparam("data", type_=EventDataJSON())),
            "rejected": t.rejected.insert(),
            "rejected_trim": t.rejected.delete().where(
                t.rejected.c.id <= newest - sa.bindparam("keep", type_=sa.Integer)
            ),
            "devices": _upsert(dialect.name, t.device_state, "device_id"),
            "alerts_new": a.insert(),
            "alerts_changed": a.update().where(a.c.id == sa.bindparam("k_id")),
            "history": t.alert_history.insert(),
            "outbox_cancel": o.update()
            .where(
                o.c.alert_id == sa.bindparam("k_alert_id"),
                o.c.state == "pending",
                o.c.cancel_on_ack.is_(True),
            )
            .values(state="cancelled"),
            "meta": _upsert(dialect.name, t.site_meta, "key"),
            "audit": t.audit.insert(),
            "outbox": o.insert(),
            "outbox_returning": o.insert().returning(o.c.id, sort_by_parameter_order=True),
            "outbox_done": o.update()
            .where(o.c.id == sa.bindparam("k_id"), o.c.state == "pending")
            .values(state=sa.bindparam("v_state"), delivered_at=sa.bindparam("v_at")),
        }

    def statement(self, op: Op) -> Any:
        """The SQLAlchemy statement of an op (with RETURNING where it returns ids)."""
        return self.by_name["outbox_returning" if op.returning else op.name]


def history_row(h: HistoryEntry) -> dict[str, Any]:
    """An alert-history row."""
    return {
        "alert_id": h.alert_id,
        "at": epoch(h.at),
        "action": h.action,
        "by": h.by,
        "note": h.note,
        "via": h.via,
    }


def _changed_alert_row(row: dict[str, Any]) -> dict[str, Any]:
    changed = {k: v for k, v in row.items() if k != "id"}
    changed["k_id"] = row["id"]
    return changed


def plan(w: Writes) -> list[Op]:
    """The planned statements of a step, in the order the SQLAlchemy path always wrote them.

    The outbox comes last, so that its ids are the step's last answer.
    """
    ops: list[Op] = []
    if w.events:
        values = rows.event_values
        ops.append(Op("events", [values(e) for e in w.events], keys=rows.EVENT_KEYS))
    if w.rejected:
        ops.append(Op("rejected", [rows.rejected_row(r) for r in w.rejected]))
    if w.devices:
        ops.append(Op("devices", [rows.device_row(d) for d in w.devices.values()]))
    if w.alerts:
        new = [rows.alert_row(a) for a in w.alerts.values() if a.id in w.new_alert_ids]
        changed = [
            _changed_alert_row(rows.alert_row(a))
            for a in w.alerts.values()
            if a.id not in w.new_alert_ids
        ]
        if new:
            ops.append(Op("alerts_new", new))
        if changed:
            ops.append(Op("alerts_changed", changed))
    if w.history:
        ops.append(Op("history", [history_row(h) for h in w.history]))
    if w.cancel_outbox_for:
        ops.append(Op("outbox_cancel", [{"k_alert_id": i} for i in sorted(w.cancel_outbox_for)]))
    if w.meta:
        ops.append(Op("meta", [{"key": k, "value": v} for k, v in w.meta.items()]))
    if w.audit:
        ops.append(Op("audit", audit_rows(w.audit)))
    if w.rejected:
        # The bound of the rejected list holds at every commit (gateway.store.intake).
        ops.append(Op("rejected_trim", [{"keep": intake.REJECTED_KEEP}]))
    if w.outbox:
        ops.append(Op("outbox", [rows.outbox_row(o) for o in w.outbox], returning=True))
    return ops


def rest(w: Writes) -> bool:
    """Whether a step also writes what the plan leaves to SQLAlchemy (unknown devices,
    handovers, the paperwork)."""
    return bool(w.unknown or w.handovers or w.handovers_escalated or w.care)
