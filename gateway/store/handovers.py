"""Shift handovers: written with the tick that queues their summary, accepted by a watcher."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.clock import epoch, from_epoch
from gateway.store import rows
from gateway.store import schema as t
from gateway.store._base import StoreBase
from gateway.store.audit import audit_rows
from gateway.store.records import AuditEntry, Handover, Writes

ACCEPTED = "accepted"
"""The history action each handed-over alert gets when a watcher accepts the handover."""


def _handover(r: Any) -> Handover:
    return Handover(
        id=r["id"],
        at=from_epoch(r["at"]),
        watchers=tuple(r["watchers"]),
        alert_ids=tuple(r["alert_ids"]),
        accepted_by=r["accepted_by"],
        accepted_at=rows.to_time(r["accepted_at"]),
        escalated_at=rows.to_time(r["escalated_at"]),
    )


async def write_handovers(conn: AsyncConnection, w: Writes) -> None:
    """The handovers of a pipeline step, inside its transaction (``commit`` calls this)."""
    if w.handovers:
        await conn.execute(
            t.handovers.insert(),
            [
                {
                    "id": h.id,
                    "at": epoch(h.at),
                    "watchers": list(h.watchers),
                    "alert_ids": list(h.alert_ids),
                }
                for h in w.handovers
            ],
        )
    c = t.handovers.c
    for handover_id, at in w.handovers_escalated.items():
        done = t.handovers.update().where(c.id == handover_id)
        await conn.execute(done.values(escalated_at=epoch(at)))


class HandoversOps(StoreBase):
    """Operations on shift handovers."""

    async def latest_handover(self) -> Handover | None:
        """The latest handover, or None before the first shift change."""
        q = sa.select(t.handovers).order_by(t.handovers.c.at.desc(), t.handovers.c.id.desc())
        async with self.engine.connect() as conn:
            found = (await conn.execute(q.limit(1))).mappings().first()
        return _handover(found) if found else None

    async def get_handover(self, handover_id: str) -> Handover | None:
        """One handover by id."""
        q = sa.select(t.handovers).where(t.handovers.c.id == handover_id)
        async with self.engine.connect() as conn:
            found = (await conn.execute(q)).mappings().first()
        return _handover(found) if found else None

    async def unaccepted_handovers(self, upto: datetime) -> list[Handover]:
        """Handovers made at or before ``upto`` that nobody accepted and that did not escalate."""
        c = t.handovers.c
        q = (
            sa.select(t.handovers)
            .where(c.at <= epoch(upto), c.accepted_at.is_(None), c.escalated_at.is_(None))
            .order_by(c.at)
        )
        async with self.engine.connect() as conn:
            return [_handover(r) for r in (await conn.execute(q)).mappings()]

    async def accept_handover(
        self,
        handover_id: str,
        by: str,
        at: datetime,
        via: str | None,
        audit: AuditEntry | None = None,
    ) -> Handover | None:
        """Record that ``by`` accepted a handover: the first acceptance on the handover, each
        one in the history of every alert handed over, and ``audit`` in the audit log, all in
        one transaction. None for an unknown handover."""
        c = t.handovers.c
        async with self._tx() as conn:
            row = (
                (await conn.execute(sa.select(t.handovers).where(c.id == handover_id)))
                .mappings()
                .first()
            )
            if row is None:
                return None
            if row["accepted_by"] is None:
                await conn.execute(
                    t.handovers.update()
                    .where(c.id == handover_id, c.accepted_by.is_(None))
                    .values(accepted_by=by, accepted_at=epoch(at))
                )
            if row["alert_ids"]:
                note = f"handover {handover_id}"
                await conn.execute(
                    t.alert_history.insert(),
                    [
                        {
                            "alert_id": a,
                            "at": epoch(at),
                            "action": ACCEPTED,
                            "by": by,
                            "note": note,
                            "via": via,
                        }
                        for a in row["alert_ids"]
                    ],
                )
            if audit is not None:
                await conn.execute(t.audit.insert(), audit_rows([audit]))
            found = (
                (await conn.execute(sa.select(t.handovers).where(c.id == handover_id)))
                .mappings()
                .one()
            )
        return _handover(found)
