"""Debounce over the real broker: a bounce delays a breach by the interval, never swallows it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from simulators.door import DoorSensor
from tests.conftest import BrokerUnderTest, Harness, at_local, fake_time_gateway, site_doc


async def _reports(h: Harness, n: int) -> list[str | None]:
    store = h.running.store

    async def stored() -> bool:
        return len(await store.household_events("h2", kind="door")) >= n

    await h.wait_for(stored)
    return [e.report for e in reversed(await store.household_events("h2", kind="door"))]


async def test_door_opened_within_the_debounce_interval_of_a_closing_alerts_after_it(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Open, close, open again within 1 s (the clock stands still): the tick after 1 s alerts."""
    doc = site_doc(door_debounce_s=1.0)
    async with fake_time_gateway(tmp_path, broker, at_local("2026-11-23 03:00"), doc) as (h, clock):
        with h.link() as link:
            sensor = DoorSensor(link, "door-h2", "native", base_topic=h.base)
            await asyncio.to_thread(sensor.close)  # the first report: no interval starts
            await asyncio.to_thread(sensor.open)
            assert await _reports(h, 2) == ["change", "change/breach"]
            clock.advance(300)
            await asyncio.to_thread(sensor.close)
            await asyncio.to_thread(sensor.open)  # 0 s after the closing: a bounce
            assert await _reports(h, 4) == ["change", "change/breach", "change", "bounce"]
        clock.advance(h.settings.tick_s + 2)

        async def counted_again() -> bool:
            # The first breach is still open, so the second opening counts on it (SPEC §3).
            breaches = [
                a for a in await h.running.store.list_alerts() if a.type.value == "door_breach"
            ]
            return [a.count for a in breaches] == [2]

        await h.wait_for(counted_again)
