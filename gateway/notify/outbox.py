"""Delivery of the outbox: every notice written with an alert change goes out, at least once.

Notices are delivered in order of creation, concurrently within a batch; a failed one is retried
with capped full-jitter backoff. A notice marked ``cancel_on_ack`` (an escalation) is dropped,
not sent, once its alert is acknowledged — checked right before sending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from gateway import metrics
from gateway.alerting.desk import AlertDesk
from gateway.backoff import full_jitter
from gateway.clock import Clock
from gateway.store import Store
from gateway.store.records import OutboxItem
from rules.alerts import AlertStatus

log = logging.getLogger("isogate.outbox")

Send = Callable[[OutboxItem], Awaitable[None]]

MAX_ATTEMPTS = 1000  # about three days at the cap: then an operator must look
DONE_MEMORY = 50_000
RECORD_BATCH = 500  # deliveries written down at most this many at a time, or when idle


class Outbox:
    """The delivery worker over the store's outbox table."""

    def __init__(
        self,
        store: Store,
        desk: AlertDesk,
        clock: Clock,
        channels: Callable[[str], Send | None],
        *,
        retry_base_s: float = 2.0,
        retry_cap_s: float = 300.0,
    ) -> None:
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        self.store = store
        self.desk = desk
        self.clock = clock
        self.channels = channels
        self._wake = asyncio.Event()
        self._in_flight: set[int] = set()
        # Delivered (or cancelled) by this process: a notice can reach both paths (read back
        # from the table a moment before the pipeline hands it over) and must go out once.
        self._done: dict[int, None] = {}
        self._unrecorded: list[int] = []
        self._fresh: list[OutboxItem] = []

    def wake(self, fresh: list[OutboxItem] | None = None) -> None:
        """New notices were committed: deliver ``fresh`` at once (no read back), then look."""
        if fresh:
            self._fresh.extend(fresh)
        self._wake.set()

    async def run(self, poll_s: float = 1.0) -> None:
        """Deliver forever (the gateway.outbox task)."""
        try:
            await self._loop(poll_s)
        finally:
            # A clean stop writes down what went out, so a restart does not send it again.
            with contextlib.suppress(Exception):
                await asyncio.shield(self.record())

    async def _loop(self, poll_s: float) -> None:
        loop = asyncio.get_running_loop()
        next_scan = loop.time()
        while True:
            self._wake.clear()
            # The table is read on its poll even under a stream of fresh notices, so that
            # retries falling due are never starved.
            scan = loop.time() >= next_scan
            delivered = 0
            if self._fresh or scan:
                try:
                    delivered = await self.drain(scan=scan)
                except Exception:
                    log.exception("outbox pass failed; retrying")
            if scan and not delivered:
                # Nothing more due: look at the table again after poll_s.
                next_scan = loop.time() + poll_s
            if delivered and len(self._unrecorded) < RECORD_BATCH:
                continue
            try:
                await self.record()
            except Exception:
                log.exception("could not record deliveries; will try again")
            if delivered or self._fresh:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, next_scan - loop.time()))

    async def record(self) -> None:
        """Write down what was delivered since the last time (one transaction for many).

        Until then a delivered notice is only remembered in memory: a crash in between sends
        it once more (at least once; receivers drop duplicates by alert and delivery id).
        """
        if self._unrecorded:
            ids, self._unrecorded = self._unrecorded, []
            try:
                await self.store.outbox_done(ids, self.clock.now())
            except Exception:
                self._unrecorded = ids + self._unrecorded
                raise

    async def drain(self, *, scan: bool = True) -> int:
        """Deliver the notices just handed over, or (``scan``) those due in the table.

        Returns how many notices were handled.
        """
        if scan:
            # Also holds any fresh ones (committed first): those are skipped when handed over.
            items = await self.store.due_outbox(self.clock.now())
        elif self._fresh:
            # Just committed by the pipeline: deliver without reading them back (latency).
            items, self._fresh = self._fresh, []
        else:
            return 0
        items = [i for i in items if i.id not in self._in_flight and i.id not in self._done]
        if not items:
            metrics.OUTBOX_PENDING.set(0)
            return 0
        ids = {i.id for i in items if i.id is not None}
        self._in_flight |= ids
        try:
            return await self._deliver(items)
        finally:
            self._in_flight -= ids

    async def _deliver(self, items: list[OutboxItem]) -> int:
        cancelled = [i.id for i in items if i.cancel_on_ack and self._acked(i.alert_id)]
        live = [i for i in items if i.id not in cancelled]
        results = await asyncio.gather(*(self._send(i) for i in live))
        now = self.clock.now()
        sent = [i.id for i, ok in zip(live, results, strict=True) if ok and i.id is not None]
        dropped = [c for c in cancelled if c is not None]
        self._unrecorded.extend(sent)
        await self.store.outbox_done(dropped, now, "cancelled")
        for done in (*sent, *dropped):
            self._done[done] = None
        while len(self._done) > DONE_MEMORY:
            del self._done[next(iter(self._done))]
        return len(items)

    def _acked(self, alert_id: str) -> bool:
        alert = self.desk.find(alert_id)
        # Not active any more (acknowledged or resolved) → its escalation notices are moot.
        return alert is None or alert.status in (AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED)

    async def _send(self, item: OutboxItem) -> bool:
        send = self.channels(item.channel)
        attempts = item.attempts + 1
        try:
            if send is None:
                raise LookupError(f"channel {item.channel!r} is not configured")
            if item.cancel_on_ack and self._acked(item.alert_id):
                return False  # acknowledged while the batch was in flight
            await send(item)
        except Exception as exc:  # a channel's failure must not stop the others
            retryable = getattr(exc, "retryable", True) and attempts < MAX_ATTEMPTS
            metrics.DELIVERIES.labels(item.channel, "retry" if retryable else "failed").inc()
            delay = full_jitter(attempts, self.retry_base_s, self.retry_cap_s)
            next_at = self.clock.now() + timedelta(seconds=delay) if retryable else None
            if attempts == 1 or not retryable:
                log.warning(
                    "delivery of %s via %s to %s failed: %s",
                    item.alert_id,
                    item.channel,
                    item.recipient,
                    exc,
                )
            assert item.id is not None
            await self.store.outbox_retry(
                item.id, error=str(exc) or type(exc).__name__, next_at=next_at, attempts=attempts
            )
            return False
        metrics.DELIVERIES.labels(item.channel, "ok").inc()
        return True
