"""Delivery of the outbox: every notice written with an alert change goes out, at least once.

Each channel has its own lane (``lanes.py``): a bounded queue and a few workers, so a hanging
webhook never delays the officers' MQTT alerts or another channel. Fresh notices go straight
into their lanes; a scan of the table every ``poll_s`` offers the retries that fell due and
whatever a full lane could not take. A failed attempt is retried with capped full-jitter
backoff.

Moot notices are dropped, not sent, checked right before each attempt: an escalation
(``cancel_on_ack``) once its alert is acknowledged or resolved, and the retry of any other
"the alert is active" notice (raised, repeated) once it is not. The status updates themselves
(acknowledged, resolved) always go out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from gateway import metrics
from gateway.alerting.desk import AlertDesk
from gateway.backoff import full_jitter
from gateway.clock import Clock
from gateway.notify.delivery import notice_status
from gateway.notify.lanes import MQTT_CHANNEL, Lane, limits_for
from gateway.notify.redact import redact
from gateway.store import Store
from gateway.store.records import OutboxItem
from rules.alerts import AlertStatus

log = logging.getLogger("isogate.outbox")

Send = Callable[[OutboxItem], Awaitable[None]]

MAX_ATTEMPTS = 1000  # about three days at the cap: then an operator must look
DONE_MEMORY = 50_000
RECORD_BATCH = 500  # MQTT deliveries written down at most this many at a time, or every poll
SCAN_PAGE = 500
AFTER_RECORD_WAKE = 64  # echo batches waiting for their acknowledgement: write down now
# A last guard for a sender that ignores its own timeouts (HTTP 10 s, PUBACK 10 s, the modem's
# 60 s submit): an attempt never holds a worker longer than this.
ATTEMPT_TIMEOUT_S = 300.0


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
        self._lanes: dict[str, Lane] = {}
        self._tg: asyncio.TaskGroup | None = None
        # Queued in a lane or being attempted: a scan must not offer them again.
        self._taken: set[int] = set()
        # Settled while a scan reads the table: its rows of these may be stale.
        self._settled_in_scan: set[int] | None = None
        # Delivered (or cancelled) by this process: a notice can reach both paths (read back
        # from the table a moment before the pipeline hands it over) and must go out once.
        self._done: dict[int, None] = {}
        # Settled and not yet written down: (outbox id, when it was delivered or cancelled).
        self._unrecorded: list[tuple[int, datetime]] = []
        self._uncancelled: list[tuple[int, datetime]] = []
        self._delivered: dict[str, Any] = {}  # the "ok" counter of each channel
        # MQTT notices wait for this (the broker's echo drained after a start: echo.py).
        self._mqtt_ready = asyncio.Event()
        self._mqtt_ready.set()
        self._expect: Callable[[OutboxItem], None] | None = None
        # Called once the deliveries known before them are written down (echo acknowledgements;
        # at most what the echo session holds, echo.HELD_MAX copies).
        self._after_record: list[Callable[[], None]] = []

    def wake(self, fresh: list[OutboxItem] | None = None) -> None:
        """New notices were committed: queue ``fresh`` in their lanes at once (no read back)."""
        for item in fresh or ():
            self._offer(item)

    def hold_mqtt(self, ready: asyncio.Event, expect: Callable[[OutboxItem], None]) -> None:
        """Attempt no MQTT notice until ``ready`` is set; tell ``expect`` of each publish."""
        self._mqtt_ready = ready
        self._expect = expect

    def confirmed(self, ours: list[int], earlier: list[int], then: Callable[[], None]) -> None:
        """The broker echoed these notices: they are delivered. ``ours`` were published by
        this process (an echo can come before the PUBACK), ``earlier`` found in the table (a
        previous run's publish). ``then`` is called once every delivery known now is written
        down: soon when the echo told something new, else with the deliveries' own batch."""
        fresh = any(item_id not in self._done for item_id in earlier)
        for item_id in (*ours, *earlier):
            if item_id not in self._done:
                self._settled(item_id, self._unrecorded)
        self._after_record.append(then)
        if fresh or len(self._after_record) >= AFTER_RECORD_WAKE:
            self._wake.set()

    async def run(self, poll_s: float = 1.0) -> None:
        """Deliver forever (the gateway.outbox task, with one task per lane worker)."""
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                for lane in self._lanes.values():
                    lane.start(tg)
                await self._dispatch(poll_s)
        finally:
            self._tg = None
            # A clean stop writes down what went out, so a restart does not send it again.
            with contextlib.suppress(Exception):
                await asyncio.shield(self.record())

    async def _dispatch(self, poll_s: float) -> None:
        loop = asyncio.get_running_loop()
        next_scan = loop.time()
        while True:
            self._wake.clear()
            try:
                await self.record()
            except Exception:
                log.exception("could not record deliveries; will try again")
            if loop.time() >= next_scan:
                try:
                    await self._scan()
                except Exception:
                    log.exception("outbox scan failed; retrying")
                next_scan = loop.time() + poll_s
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
            # lands as the wake-up does, and the gateway would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_scan - loop.time())):
                    await self._wake.wait()

    async def record(self) -> None:
        """Write down what was delivered (or cancelled) since the last time, in one go.

        Until then a delivered notice is only remembered in memory: a crash in between sends
        it once more (at least once; receivers drop duplicates by alert and delivery id),
        except an MQTT notice the broker echoed (``echo.py``).
        """
        after = len(self._after_record)
        for state, ids in (("delivered", self._unrecorded), ("cancelled", self._uncancelled)):
            if not ids:
                continue
            batch = ids[:]
            del ids[: len(batch)]
            try:
                await self.store.outbox_done(batch, state)
            except Exception:
                ids[:0] = batch
                raise
        if after:
            calls = self._after_record[:after]
            del self._after_record[:after]
            for call in calls:
                call()

    # --- routing ------------------------------------------------------------------------------

    def _lane(self, channel: str) -> Lane:
        lane = self._lanes.get(channel)
        if lane is None:
            lane = Lane(channel, limits_for(channel), self._attempt)
            self._lanes[channel] = lane
            if self._tg is not None:
                lane.start(self._tg)
        return lane

    def _offer(self, item: OutboxItem) -> bool:
        """Queue ``item`` in its lane; False when the lane is full (a later scan offers it)."""
        if item.id is None or item.id in self._taken or item.id in self._done:
            return True
        if not self._lane(item.channel).offer(item):
            return False
        self._taken.add(item.id)
        return True

    async def _scan(self) -> None:
        """Offer every due notice to its lane, page by page, passing over full lanes."""
        now = self.clock.now()
        full = {name for name, lane in self._lanes.items() if lane.full}
        self._settled_in_scan = set()
        try:
            after = 0
            while True:
                items = await self.store.due_outbox(
                    now, SCAN_PAGE, after_id=after, skip_channels=full
                )
                for item in items:
                    if item.id in self._settled_in_scan:
                        continue  # read before its attempt wrote it down
                    if not self._offer(item):
                        full.add(item.channel)
                if len(items) < SCAN_PAGE:
                    break
                after = items[-1].id or after
        finally:
            self._settled_in_scan = None
        waiting = await self.store.outbox_pending_count()
        metrics.OUTBOX_PENDING.set(max(0, waiting - len(self._unrecorded) - len(self._uncancelled)))

    # --- one attempt --------------------------------------------------------------------------

    async def _attempt(self, item: OutboxItem) -> None:
        assert item.id is not None
        try:
            if item.channel == MQTT_CHANNEL and not self._mqtt_ready.is_set():
                await self._mqtt_ready.wait()
            if item.id in self._done:
                return  # settled while it waited (the broker echoed a previous run's publish)
            if self._moot(item):
                self._settled(item.id, self._uncancelled)
            elif await self._send(item) and item.id not in self._done:
                self._settled(item.id, self._unrecorded)
        finally:
            self._taken.discard(item.id)
            if self._settled_in_scan is not None:
                self._settled_in_scan.add(item.id)
        # MQTT deliveries (and cancellations) are written down in batches, at RECORD_BATCH or
        # with the next poll, each with its own time: the broker's echo covers a crash in
        # between, and a cancelled notice is found moot again. Another channel's at once,
        # since only the write closes its window. (Written down whenever the lane went idle,
        # 1,000 paced breach cycles took 2,075 commits of deliveries; now 40.)
        if len(self._unrecorded) >= RECORD_BATCH or item.channel != MQTT_CHANNEL:
            self._wake.set()

    def _settled(self, item_id: int, unrecorded: list[tuple[int, datetime]]) -> None:
        unrecorded.append((item_id, self.clock.now()))
        self._done[item_id] = None
        while len(self._done) > DONE_MEMORY:
            del self._done[next(iter(self._done))]

    def _moot(self, item: OutboxItem) -> bool:
        """Whether the notice no longer needs to go out (checked right before each attempt)."""
        alert = self.desk.find(item.alert_id)
        # The desk's book holds active alerts only: absent means acknowledged or resolved.
        settled = alert is None or not alert.status.is_active
        if not settled:
            return False
        if item.cancel_on_ack:
            return True  # an escalation of an alert somebody took on
        status = notice_status(item)
        # A retry of "the alert is active" is moot once it is not; its first attempt still goes
        # out (the recipient learns it happened), and so does every status update.
        return item.attempts > 0 and status in (AlertStatus.OPEN, AlertStatus.ESCALATED)

    async def _send(self, item: OutboxItem) -> bool:
        send = self.channels(item.channel)
        if self._expect is not None and item.channel == MQTT_CHANNEL:
            self._expect(item)  # before the publish: its echo may come before the PUBACK
        attempts = item.attempts + 1
        try:
            if send is None:
                raise LookupError(f"channel {item.channel!r} is not configured")
            async with asyncio.timeout(ATTEMPT_TIMEOUT_S):
                await send(item)
        except Exception as exc:  # a channel's failure must not stop the others
            retryable = getattr(exc, "retryable", True) and attempts < MAX_ATTEMPTS
            metrics.DELIVERIES.labels(item.channel, "retry" if retryable else "failed").inc()
            delay = full_jitter(attempts, self.retry_base_s, self.retry_cap_s)
            next_at = self.clock.now() + timedelta(seconds=delay) if retryable else None
            # Exception texts may carry a webhook URL, and the URL its secret.
            error = redact(str(exc) or type(exc).__name__)
            if attempts == 1 or not retryable:
                log.warning(
                    "delivery of %s via %s to %s failed: %s",
                    item.alert_id,
                    item.channel,
                    item.recipient,
                    error,
                )
            assert item.id is not None
            await self.store.outbox_retry(item.id, error=error, next_at=next_at, attempts=attempts)
            return False
        counter = self._delivered.get(item.channel)
        if counter is None:
            counter = self._delivered[item.channel] = metrics.DELIVERIES.labels(item.channel, "ok")
        counter.inc()
        return True
