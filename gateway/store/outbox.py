"""The outbox table: notices waiting for delivery, delivered, retried."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gateway.clock import epoch
from gateway.store import rows
from gateway.store import schema as t
from gateway.store.plan import Op
from gateway.store.planned import PlannedOps
from gateway.store.records import (
    OutboxItem,
)


class OutboxOps(PlannedOps):
    """Operations on the outbox."""

    async def due_outbox(
        self,
        now: datetime,
        limit: int = 500,
        *,
        after_id: int = 0,
        skip_channels: Iterable[str] = (),
    ) -> list[OutboxItem]:
        """Pending notifications whose time has come, oldest first.

        ``after_id`` pages on past the ids already seen; ``skip_channels`` leaves out channels
        that cannot take more right now.
        """
        q = (
            sa.select(t.outbox)
            .where(
                t.outbox.c.state == "pending",
                t.outbox.c.next_attempt_at <= epoch(now),
                t.outbox.c.id > after_id,
            )
            .order_by(t.outbox.c.id)
            .limit(limit)
        )
        skip = list(skip_channels)
        if skip:
            q = q.where(t.outbox.c.channel.not_in(skip))
        async with self.engine.connect() as conn:
            return [rows.outbox_from(r) for r in (await conn.execute(q)).mappings()]

    async def outbox_pending_count(self) -> int:
        """How many notifications wait for delivery (due or backing off)."""
        q = sa.select(sa.func.count()).select_from(t.outbox).where(t.outbox.c.state == "pending")
        async with self.engine.connect() as conn:
            return int((await conn.execute(q)).scalar_one())

    async def outbox_pending_mqtt(self, alert_ids: set[str]) -> list[tuple[int, str, str, str]]:
        """Pending MQTT notices of these alerts: ``(id, alert_id, target, body)``, oldest first
        (what the broker's echo of a publish is matched against)."""
        if not alert_ids:
            return []
        o = t.outbox.c
        q = (
            sa.select(o.id, o.alert_id, o.target, o.body)
            .where(o.alert_id.in_(sorted(alert_ids)), o.channel == "mqtt", o.state == "pending")
            .order_by(o.id)
        )
        async with self.engine.connect() as conn:
            return [(r[0], r[1], r[2], r[3]) for r in (await conn.execute(q)).all()]

    async def outbox_done(
        self, settled: Iterable[tuple[int, datetime]], state: str = "delivered"
    ) -> None:
        """Mark notifications delivered (or cancelled) at their own times, those still pending."""
        done = [{"k_id": i, "v_state": state, "v_at": epoch(at)} for i, at in settled]
        if done:
            await self.run_plan([Op("outbox_done", done)])

    async def outbox_retry(
        self, item_id: int, *, error: str, next_at: datetime | None, attempts: int
    ) -> None:
        """Record a failed attempt; ``next_at`` None gives up on the item."""
        values: dict[str, Any] = {"attempts": attempts, "last_error": error[:500]}
        if next_at is None:
            values["state"] = "failed"
        else:
            values["next_attempt_at"] = epoch(next_at)
        async with self._tx() as conn:
            await conn.execute(t.outbox.update().where(t.outbox.c.id == item_id).values(**values))
