"""The ``gateway.daily`` task: at ``policy.daily_report_at`` (local), the day's report is made
once and pushed to every channel with ``daily_report: true``; then the retention purge runs.

Once: the report is kept with the day as its key, in the same transaction as its notices, so a
restart does not make it again, and a gateway that was down at the time makes it when it comes
back the same day. Pushed durably: the notices are outbox rows (``daily:<day>``), delivered and
retried like an alert's; ``sent_at`` is set once none waits any more and one was delivered.
Everything waits on the gateway's clock, so a test moves the day along.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from gateway.care import purge
from gateway.care.daily import DailyReport, day_bounds, made
from gateway.care.daily_facts import gather
from gateway.care.daily_format import report_text, report_title
from gateway.clock import Clock
from gateway.notify.report_notice import ReportNotice
from gateway.store import Store
from gateway.store.records import OutboxItem
from gateway.store.reports import REPORT_PREFIX
from rules.directory import Directory
from rules.site import Channel, ChannelKind, Role

log = logging.getLogger("isogate.daily")

SETTLE_S = 30.0
"""How often to look whether a report's notices all went out (while some wait)."""
MAX_PAUSE_S = 300.0
"""The longest sleep: a changed ``daily_report_at`` or a clock that jumped is seen this soon."""


def due_at(day: date, directory: Directory) -> datetime:
    """When a local day's report is due."""
    hour, minute = (int(x) for x in directory.policy.daily_report_at.split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=directory.tz)


class DailyReporter:
    """Makes, keeps and pushes the daily report; purges after it (``data_dir`` given)."""

    def __init__(
        self,
        store: Store,
        directory: Callable[[], Directory],
        clock: Clock,
        wake: Callable[[list[OutboxItem]], None],
        *,
        data_dir: Path | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        self.clock = clock
        self._wake = wake
        self.data_dir = data_dir
        self.checked_at: datetime | None = None
        """When the task last looked whether a report was due (tests wait for it)."""

    async def run(self) -> None:
        """Forever: make the day's report when due, settle what was sent, sleep."""
        while True:
            now = self.clock.now()
            d = self.directory()
            today = now.astimezone(d.tz).date()
            if now >= due_at(today, d) and await self.make(today, now):
                await self._purge(now)
            waiting = await self.store.settle_daily_reports(now)
            self.checked_at = now
            await self.clock.sleep(self._pause(now, d, waiting))

    async def make(self, day: date, now: datetime) -> bool:
        """Make a day's report and queue its notices, unless it was made already."""
        key = day.isoformat()
        if await self.store.daily_report(key) is not None:
            return False
        d = self.directory()
        start, end = day_bounds(day, d.tz)
        at = min(now, end)
        facts = await gather(self.store, start, at)
        report = await made(day, at, now, d, facts)
        body = report.to_json(d.tz)
        notices = []
        for channel in d.site.channels or []:
            if channel.daily_report:
                scoped = report
                if channel.households != "all":
                    scoped = await made(day, at, now, d, facts, set(channel.households))
                notices += _notices(channel, scoped, d, now)
        items = await self.store.save_daily_report(key, now, body, notices)
        if items is None:
            return False
        self._wake(items)
        log.info(
            "daily report %s made: %d households, %d notices", key, len(report.rows), len(items)
        )
        return True

    async def _purge(self, now: datetime) -> None:
        if self.data_dir is None:
            return
        try:
            await purge.purge(self.store, self.data_dir, now)
        except Exception:  # the report is made; the next day's run tries the purge again
            log.exception("the retention purge failed")

    @staticmethod
    def _pause(now: datetime, d: Directory, waiting: int) -> float:
        today = now.astimezone(d.tz).date()
        due = due_at(today, d)
        if now >= due:
            due = due_at(today + timedelta(days=1), d)
        pause = (due - now).total_seconds()
        if waiting:
            pause = min(pause, SETTLE_S)
        return max(1.0, min(pause, MAX_PAUSE_S))


def _notices(
    channel: Channel, report: DailyReport, d: Directory, now: datetime
) -> list[OutboxItem]:
    """The outbox rows that push a report on one channel: one to a group, or one per phone."""
    key = f"{REPORT_PREFIX}{report.day.isoformat()}"
    title, text = report_title(report), report_text(report, d.tz)
    if channel.kind is not ChannelKind.SMS:
        notice = ReportNotice(key, title, text, report.to_json(d.tz))
        return [OutboxItem(key, channel.id, "group", channel.url or "", notice.to_json(), now)]
    # By SMS to the channel's roles (the supervisors when it names none) who have a phone.
    roles = channel.roles or [Role.SUPERVISOR]
    people = [s for s in d.site.staff if s.role in roles and s.phone]
    empty: dict[str, Any] = {}
    return [
        OutboxItem(
            key,
            channel.id,
            s.id,
            s.phone or "",
            ReportNotice(key, title, text, empty, s.phone).to_json(),
            now,
        )
        for s in people
    ]
