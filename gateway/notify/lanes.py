"""Delivery lanes: one bounded queue and a few workers per channel, so none waits on another.

A webhook that hangs holds up its own workers and fills its own queue; the MQTT lane and every
other channel go on. A lane whose queue is full takes nothing more: the notices stay pending in
the outbox table (the truth), and a later scan of the table offers them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gateway.store.records import OutboxItem

log = logging.getLogger("isogate.outbox")

MQTT_CHANNEL = "mqtt"


@dataclass(frozen=True, slots=True)
class LaneLimits:
    """How much one channel may do at once, and hold in memory.

    Attributes:
        workers: Attempts under way at the same time.
        capacity: Notices queued in memory behind them.
    """

    workers: int
    capacity: int


# MQTT publishes wait ~1 ms for their PUBACK (10 s when the broker is away), so many run at once;
# 5,000 queued alerts are a few MB. A webhook, bot or modem gets 4 at a time (a bot limits
# senders to ~20 a minute anyway; the modem sends one at a time behind its own lock) and 1,000
# queued.
MQTT_LIMITS = LaneLimits(workers=64, capacity=5000)
CHANNEL_LIMITS = LaneLimits(workers=4, capacity=1000)


def limits_for(channel: str) -> LaneLimits:
    """The limits of a channel's lane."""
    return MQTT_LIMITS if channel == MQTT_CHANNEL else CHANNEL_LIMITS


class Lane:
    """One channel's queue and workers; ``handle`` makes one attempt and never raises."""

    def __init__(
        self,
        channel: str,
        limits: LaneLimits,
        handle: Callable[[OutboxItem], Awaitable[None]],
    ) -> None:
        self.channel = channel
        self.limits = limits
        self._handle = handle
        self._queue: asyncio.Queue[OutboxItem] = asyncio.Queue(limits.capacity)
        self._started = False

    @property
    def full(self) -> bool:
        """Whether the queue takes nothing more right now."""
        return self._queue.full()

    def offer(self, item: OutboxItem) -> bool:
        """Queue ``item``; False when the queue is full (it stays for a later scan)."""
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            return False
        return True

    def start(self, tg: asyncio.TaskGroup) -> None:
        """Start the workers in ``tg`` (once)."""
        if self._started:
            return
        self._started = True
        for i in range(self.limits.workers):
            tg.create_task(self._work(), name=f"gateway.outbox.{self.channel}.{i}")

    async def _work(self) -> None:
        while True:
            item = await self._queue.get()
            try:
                await self._handle(item)
            except Exception:  # a worker must outlive any one notice's fault
                log.exception("delivery of outbox item %s failed unexpectedly", item.id)
