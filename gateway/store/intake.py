"""The technicians' lists: rejected input and unbound devices, kept bounded.

The bound holds at every commit, not only after a periodic prune: the trim runs in the
transaction that adds to the lists, so a flood of garbage cannot grow them in between.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.clock import from_epoch
from gateway.store import schema as t
from gateway.store._base import StoreBase
from gateway.store.records import RejectedRecord, Writes

REJECTED_KEEP = 10_000
UNKNOWN_KEEP = 1_000


async def keep_bounded(conn: AsyncConnection, w: Writes) -> None:
    """Trim the unknown-device list that ``w`` adds to, inside the transaction that adds.

    The table is small: it is counted and the least recently heard beyond the bound deleted.
    (The rejected list is trimmed by the planned statements of every step that adds to it,
    :mod:`gateway.store.plan`: everything at or below ``max(id) - REJECTED_KEEP`` is deleted, an
    index range that holds only the rows this commit pushed past the bound; ids only grow, so
    at most ``REJECTED_KEEP`` rows remain even with gaps.)
    """
    if w.unknown:
        c = t.unknown_devices.c
        held = await conn.execute(sa.select(sa.func.count()).select_from(t.unknown_devices))
        excess = held.scalar_one() - UNKNOWN_KEEP
        if excess > 0:
            oldest = sa.select(c.device_key).order_by(c.last_seen, c.device_key).limit(excess)
            await conn.execute(t.unknown_devices.delete().where(c.device_key.in_(oldest)))


class IntakeOps(StoreBase):
    """Operations on the rejected and unknown-device lists."""

    async def list_rejected(self, limit: int = 200) -> list[RejectedRecord]:
        """Rejected input, newest first."""
        q = sa.select(t.rejected).order_by(t.rejected.c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [
                RejectedRecord(
                    from_epoch(r["received_at"]),
                    r["source"],
                    r["topic"],
                    r["reason"],
                    r["payload"],
                    r["device_key"],
                )
                for r in (await conn.execute(q)).mappings()
            ]

    async def list_unknown(self, limit: int = 200) -> list[dict[str, Any]]:
        """Unbound device addresses, most recently heard first."""
        q = sa.select(t.unknown_devices).order_by(t.unknown_devices.c.last_seen.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [
                {
                    **r,
                    "first_seen": from_epoch(r["first_seen"]),
                    "last_seen": from_epoch(r["last_seen"]),
                }
                for r in (await conn.execute(q)).mappings()
            ]
