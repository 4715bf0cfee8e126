"""What the daily report (每日报告) reads of one local day, and the reports made.

Each read covers ``[start, end)`` of one day (``end`` is the report's time, at most the day's
end) for some households or all; the daily report's builder (``gateway.care.daily``) turns
them into rows. A report made at the configured time is kept once per day (``daily_reports``,
the day its key) with the notices that push it to the channels, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from gateway.clock import epoch, from_epoch
from gateway.store import care_tables as c
from gateway.store import rows
from gateway.store import schema as t
from gateway.store._base import StoreBase
from gateway.store.care import _check, _service, _window
from gateway.store.care_records import CareWindow, ServiceRequest, SymptomCheck
from gateway.store.records import Alert, OutboxItem

REPORT_PREFIX = "daily:"
"""The outbox's ``alert_id`` of a daily report's notices: ``daily:2026-11-23``."""


@dataclass(frozen=True, slots=True)
class Reading:
    """One temperature reading as the report counts it: whose thermometer, when taken."""

    household_id: str
    device_id: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class StoredReport:
    """A daily report as it was made and pushed."""

    day: str
    generated_at: datetime
    body: dict[str, Any]
    sent_at: datetime | None


def _among(q: Any, column: Any, households: Iterable[str] | None) -> Any:
    return q if households is None else q.where(column.in_(list(households)))


class ReportsOps(StoreBase):
    """Reads of one day for the daily report, and the reports made."""

    async def readings_between(
        self, start: datetime, end: datetime, households: Iterable[str] | None = None
    ) -> list[Reading]:
        """Temperature readings taken in ``[start, end)`` (device time), oldest first."""
        e = t.events.c
        q = sa.select(e.household_id, e.device_id, e.ts).where(
            e.kind == "temperature", e.ts >= epoch(start), e.ts < epoch(end)
        )
        q = _among(q, e.household_id, households).order_by(e.ts)
        async with self.engine.connect() as conn:
            return [Reading(h, d, from_epoch(ts)) for h, d, ts in await conn.execute(q)]

    async def checks_between(
        self, start: datetime, end: datetime, households: Iterable[str] | None = None
    ) -> list[SymptomCheck]:
        """Symptom checks and missed-check marks in ``[start, end)``, oldest first."""
        s = c.symptom_checks.c
        q = sa.select(c.symptom_checks).where(s.at >= epoch(start), s.at < epoch(end))
        q = _among(q, s.household_id, households).order_by(s.at, s.id)
        async with self.engine.connect() as conn:
            return [_check(r) for r in (await conn.execute(q)).mappings()]

    async def alerts_raised_between(
        self,
        start: datetime,
        end: datetime,
        types: Sequence[str],
        households: Iterable[str] | None = None,
    ) -> list[Alert]:
        """Alerts of these types raised in ``[start, end)``, oldest first."""
        a = t.alerts.c
        q = sa.select(t.alerts).where(
            a.type.in_(list(types)), a.raised_at >= epoch(start), a.raised_at < epoch(end)
        )
        q = _among(q, a.household_id, households).order_by(a.raised_at, a.id)
        async with self.engine.connect() as conn:
            return [rows.alert_from(r) for r in (await conn.execute(q)).mappings()]

    async def offline_at(
        self, at: datetime, households: Iterable[str] | None = None
    ) -> list[Alert]:
        """``device_offline`` alerts that stood at ``at``: raised before, not resolved by then."""
        a = t.alerts.c
        q = sa.select(t.alerts).where(
            a.type == "device_offline",
            a.raised_at < epoch(at),
            sa.or_(a.resolved_at.is_(None), a.resolved_at > epoch(at)),
        )
        q = _among(q, a.household_id, households).order_by(a.raised_at, a.id)
        async with self.engine.connect() as conn:
            return [rows.alert_from(r) for r in (await conn.execute(q)).mappings()]

    async def services_between(
        self, start: datetime, end: datetime, households: Iterable[str] | None = None
    ) -> list[ServiceRequest]:
        """Service requests made or done in ``[start, end)``, oldest request first."""
        s = c.service_requests.c
        lo, hi = epoch(start), epoch(end)
        q = sa.select(c.service_requests).where(
            sa.or_(
                sa.and_(s.requested_at >= lo, s.requested_at < hi),
                sa.and_(s.done_at >= lo, s.done_at < hi),
            )
        )
        q = _among(q, s.household_id, households).order_by(s.requested_at, s.id)
        async with self.engine.connect() as conn:
            return [_service(r) for r in (await conn.execute(q)).mappings()]

    async def windows_for_report(
        self, start: datetime, end: datetime, households: Iterable[str] | None = None
    ) -> list[CareWindow]:
        """Pre-reports that opened in ``[start, end)`` and check-in visits that began before
        ``end`` (the latest one sets when the next is due), oldest first."""
        w = c.care_windows.c
        lo, hi = epoch(start), epoch(end)
        q = sa.select(c.care_windows).where(
            sa.or_(
                sa.and_(w.kind == "prereport", w.starts_at >= lo, w.starts_at < hi),
                sa.and_(w.kind == "visit", w.reason == "checkin", w.starts_at < hi),
            )
        )
        q = _among(q, w.household_id, households).order_by(w.starts_at, w.id)
        async with self.engine.connect() as conn:
            return [_window(r) for r in (await conn.execute(q)).mappings()]

    # --- the reports made -------------------------------------------------------------------

    async def daily_report(self, day: str) -> StoredReport | None:
        """The report made for a day (``YYYY-MM-DD``), if one was."""
        q = sa.select(c.daily_reports).where(c.daily_reports.c.day == day)
        async with self.engine.connect() as conn:
            r = (await conn.execute(q)).mappings().first()
        if r is None:
            return None
        sent = rows.to_time(r["sent_at"])
        return StoredReport(r["day"], from_epoch(r["generated_at"]), r["body"], sent)

    async def save_daily_report(
        self, day: str, generated_at: datetime, body: dict[str, Any], notices: list[OutboxItem]
    ) -> list[OutboxItem] | None:
        """Keep a day's report and queue its notices, once: None when the day has one already.

        Returns:
            The notices with their outbox ids (to hand to the outbox at once), or None.
        """
        try:
            async with self._tx() as conn:
                found = await conn.execute(
                    sa.select(c.daily_reports.c.day).where(c.daily_reports.c.day == day)
                )
                if found.first() is not None:
                    return None
                await conn.execute(
                    c.daily_reports.insert().values(
                        day=day, generated_at=epoch(generated_at), body=body
                    )
                )
                if not notices:
                    return []
                ids = await conn.execute(
                    t.outbox.insert().returning(t.outbox.c.id, sort_by_parameter_order=True),
                    [rows.outbox_row(o) for o in notices],
                )
                return [replace(o, id=i) for o, (i,) in zip(notices, ids, strict=True)]
        except IntegrityError:  # made meanwhile by another process (the day is the key)
            return None

    async def settle_daily_reports(self, at: datetime) -> int:
        """Mark ``sent_at`` on the reports whose notices all left the outbox, one or more of
        them delivered; returns how many reports still have notices waiting."""
        d, o = c.daily_reports.c, t.outbox.c
        key = sa.literal(REPORT_PREFIX) + d.day

        def notices(state: str) -> Any:
            return sa.exists().where(o.alert_id == key, o.state == state)

        async with self._tx() as conn:
            await conn.execute(
                c.daily_reports.update()
                .where(d.sent_at.is_(None), notices("delivered"), ~notices("pending"))
                .values(sent_at=epoch(at))
            )
            waiting = await conn.execute(
                sa.select(sa.func.count())
                .select_from(c.daily_reports)
                .where(d.sent_at.is_(None), notices("pending"))
            )
            return int(waiting.scalar_one())
