"""The one clock of the gateway, injected everywhere so tests and the demo can move time."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """``now()`` is an aware UTC datetime; ``sleep()`` waits in this clock's time."""

    def now(self) -> datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Wall time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ScaledClock:
    """Time that starts at ``start`` and runs ``speed`` times faster than wall time (the demo)."""

    def __init__(self, start: datetime, speed: float) -> None:
        self._start = start
        self._t0 = time.monotonic()
        self.speed = speed

    def now(self) -> datetime:
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)


class FakeClock:
    """Time that moves only when told; ``sleep`` waits until someone ``advance``s far enough."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._changed = asyncio.Event()

    def now(self) -> datetime:
        return self._now

    def set(self, t: datetime) -> None:
        """Jump to ``t`` (never backwards)."""
        self._now = max(self._now, t)
        self._changed.set()

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.set(self._now + timedelta(seconds=seconds))

    async def sleep(self, seconds: float) -> None:
        until = self._now + timedelta(seconds=seconds)
        while self._now < until:
            self._changed.clear()
            await self._changed.wait()


def epoch(t: datetime) -> float:
    """Seconds since the epoch, the store's time format."""
    return t.timestamp()


def from_epoch(s: float) -> datetime:
    """An aware UTC datetime from the store's time format."""
    return datetime.fromtimestamp(s, UTC)
