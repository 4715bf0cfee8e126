"""Alerts, their history and their deliveries, as people read them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.clock import epoch, from_epoch
from gateway.store import rows
from gateway.store import schema as t
from gateway.store._base import StoreBase
from gateway.store.records import (
    Alert,
    HistoryEntry,
    Step,
)
from rules.alerts import AlertStatus

STEP = "step"
"""The history action of a response-plan step; its note is the step's key."""

_UNRESOLVED = [s.value for s in AlertStatus if s is not AlertStatus.RESOLVED]


async def _with_steps(conn: AsyncConnection, rows_: Iterable[Any]) -> list[Alert]:
    """Alerts from their rows, each with the plan steps its history holds (one query for all)."""
    alerts = [rows.alert_from(r) for r in rows_]
    if not alerts:
        return alerts
    h = t.alert_history.c
    q = (
        sa.select(h.alert_id, h.note, h.by, h.at)
        .where(h.action == STEP, h.alert_id.in_([a.id for a in alerts]))
        .order_by(h.id)
    )
    steps: dict[str, list[Step]] = {}
    for alert_id, note, by, at in await conn.execute(q):
        steps.setdefault(alert_id, []).append(Step(note, by, from_epoch(at)))
    return [replace(a, steps=tuple(steps[a.id])) if a.id in steps else a for a in alerts]


class AlertsOps(StoreBase):
    """Operations on alerts."""

    async def active_alerts(self) -> list[Alert]:
        """Every open or escalated alert."""
        q = sa.select(t.alerts).where(t.alerts.c.active_key.is_not(None))
        async with self.engine.connect() as conn:
            return await _with_steps(conn, (await conn.execute(q)).mappings())

    async def unresolved_alerts(self) -> list[Alert]:
        """Every alert not yet resolved: open, escalated or acknowledged.

        What the rules raised and nobody closed: a restart must not raise them again.
        """
        q = sa.select(t.alerts).where(t.alerts.c.status.in_(_UNRESOLVED))
        async with self.engine.connect() as conn:
            return await _with_steps(conn, (await conn.execute(q)).mappings())

    async def list_alerts(
        self,
        *,
        status: str | None = None,
        households: Iterable[str] | None = None,
        type: str | None = None,
        limit: int = 200,
    ) -> list[Alert]:
        """Alerts, newest first, filtered.

        ``status``: a status; ``open``/``active`` for every alert nobody acknowledged yet;
        ``unresolved`` for those and the acknowledged ones.
        """
        q = sa.select(t.alerts).order_by(t.alerts.c.raised_at.desc()).limit(limit)
        if status in ("open", "active"):
            # Escalated is still open: nobody acknowledged it yet.
            q = q.where(t.alerts.c.active_key.is_not(None))
        elif status == "unresolved":
            q = q.where(t.alerts.c.status.in_(_UNRESOLVED))
        elif status:
            q = q.where(t.alerts.c.status == status)
        if households is not None:
            q = q.where(t.alerts.c.household_id.in_(list(households)))
        if type:
            q = q.where(t.alerts.c.type == type)
        async with self.engine.connect() as conn:
            return await _with_steps(conn, (await conn.execute(q)).mappings())

    async def alerts_changed_since(
        self, since: datetime, *, households: Iterable[str] | None = None, limit: int = 1000
    ) -> list[Alert]:
        """Alerts raised or changed at or after ``since``, oldest change first (the stream's
        catch-up); at most ``limit``, the latest changes kept when there are more."""
        c = t.alerts.c
        q = sa.select(t.alerts).where(c.updated_at >= epoch(since))
        if households is not None:
            q = q.where(c.household_id.in_(list(households)))
        q = q.order_by(c.updated_at.desc(), c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            found = await _with_steps(conn, (await conn.execute(q)).mappings())
        return found[::-1]

    async def get_alert(self, alert_id: str) -> Alert | None:
        """One alert by id."""
        q = sa.select(t.alerts).where(t.alerts.c.id == alert_id)
        async with self.engine.connect() as conn:
            found = await _with_steps(conn, (await conn.execute(q)).mappings())
        return found[0] if found else None

    async def alerts_by_id(self, alert_ids: Iterable[str]) -> list[Alert]:
        """The alerts of these ids (those that exist), in the order given."""
        wanted = list(alert_ids)
        if not wanted:
            return []
        q = sa.select(t.alerts).where(t.alerts.c.id.in_(wanted))
        async with self.engine.connect() as conn:
            found = {a.id: a for a in await _with_steps(conn, (await conn.execute(q)).mappings())}
        return [found[i] for i in wanted if i in found]

    async def latest_snapshots(self, households: Iterable[str] | None = None) -> dict[str, str]:
        """Per household, the snapshot of its latest alert that has one."""
        c = t.alerts.c
        latest = sa.select(c.household_id, sa.func.max(c.raised_at).label("at")).where(
            c.snapshot.is_not(None)
        )
        if households is not None:
            latest = latest.where(c.household_id.in_(list(households)))
        sub = latest.group_by(c.household_id).subquery()
        q = sa.select(c.household_id, c.snapshot).join(
            sub, sa.and_(c.household_id == sub.c.household_id, c.raised_at == sub.c.at)
        )
        async with self.engine.connect() as conn:
            return {h: s for h, s in await conn.execute(q) if s}

    async def household_history(
        self, household_id: str, since: datetime, limit: int = 1000
    ) -> list[tuple[Alert, HistoryEntry]]:
        """What happened to a household's alerts at or after ``since``, newest first."""
        h = t.alert_history.c
        q = (
            sa.select(
                t.alerts,
                h.at.label("h_at"),
                h.action,
                h.by.label("h_by"),
                h.note.label("h_note"),
                h.via.label("h_via"),
            )
            .join(t.alert_history, h.alert_id == t.alerts.c.id)
            .where(t.alerts.c.household_id == household_id, h.at >= epoch(since))
            .order_by(h.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            found = (await conn.execute(q)).mappings().all()
        return [
            (
                rows.alert_from(r),
                HistoryEntry(
                    r["id"], from_epoch(r["h_at"]), r["action"], r["h_by"], r["h_note"], r["h_via"]
                ),
            )
            for r in found
        ]

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
