"""Alerts, their history and their deliveries, as people read them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from gateway.clock import from_epoch
from gateway.store import rows
from gateway.store import schema as t
from gateway.store._base import StoreBase
from gateway.store.records import (
    Alert,
    HistoryEntry,
)
from rules.alerts import AlertStatus


class AlertsOps(StoreBase):
    """Operations on alerts."""

    async def active_alerts(self) -> list[Alert]:
        """Every open or escalated alert."""
        q = sa.select(t.alerts).where(t.alerts.c.active_key.is_not(None))
        async with self.engine.connect() as conn:
            return [rows.alert_from(r) for r in (await conn.execute(q)).mappings()]

    async def unresolved_alerts(self) -> list[Alert]:
        """Every alert not yet resolved: open, escalated or acknowledged.

        What the rules raised and nobody closed: a restart must not raise them again.
        """
        unresolved = [s.value for s in AlertStatus if s is not AlertStatus.RESOLVED]
        q = sa.select(t.alerts).where(t.alerts.c.status.in_(unresolved))
        async with self.engine.connect() as conn:
            return [rows.alert_from(r) for r in (await conn.execute(q)).mappings()]

    async def list_alerts(
        self,
        *,
        status: str | None = None,
        households: Iterable[str] | None = None,
        type: str | None = None,
        limit: int = 200,
    ) -> list[Alert]:
        """Alerts, newest first, filtered."""
        q = sa.select(t.alerts).order_by(t.alerts.c.raised_at.desc()).limit(limit)
        if status in ("open", "active"):
            # Escalated is still open: nobody acknowledged it yet.
            q = q.where(t.alerts.c.active_key.is_not(None))
        elif status:
            q = q.where(t.alerts.c.status == status)
        if households is not None:
            q = q.where(t.alerts.c.household_id.in_(list(households)))
        if type:
            q = q.where(t.alerts.c.type == type)
        async with self.engine.connect() as conn:
            return [rows.alert_from(r) for r in (await conn.execute(q)).mappings()]

    async def get_alert(self, alert_id: str) -> Alert | None:
        """One alert by id."""
        q = sa.select(t.alerts).where(t.alerts.c.id == alert_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(q)).mappings().first()
        return rows.alert_from(row) if row else None

    async def alert_history(self, alert_id: str) -> list[HistoryEntry]:
        """The append-only history of one alert, oldest first."""
        q = (
            sa.select(t.alert_history)
            .where(t.alert_history.c.alert_id == alert_id)
            .order_by(t.alert_history.c.id)
        )
        async with self.engine.connect() as conn:
            return [
                HistoryEntry(
                    r["alert_id"], from_epoch(r["at"]), r["action"], r["by"], r["note"], r["via"]
                )
                for r in (await conn.execute(q)).mappings()
            ]

    async def alert_deliveries(self, alert_id: str) -> list[dict[str, Any]]:
        """Delivery state per recipient and channel of one alert."""
        q = (
            sa.select(
                t.outbox.c.channel,
                t.outbox.c.recipient,
                t.outbox.c.target,
                t.outbox.c.state,
                t.outbox.c.attempts,
                t.outbox.c.delivered_at,
                t.outbox.c.last_error,
            )
            .where(t.outbox.c.alert_id == alert_id)
            .order_by(t.outbox.c.id)
        )
        async with self.engine.connect() as conn:
            return [
                {**r, "delivered_at": rows.to_time(r["delivered_at"])}
                for r in (await conn.execute(q)).mappings()
            ]
