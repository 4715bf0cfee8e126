"""A restart is invisible to the rules: acknowledged alerts stay raised, and still resolve."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from gateway.clock import FakeClock, epoch
from gateway.store.records import Alert
from simulators.door import DoorSensor
from simulators.link import SimLink
from tests.conftest import (
    BrokerUnderTest,
    Harness,
    at_local,
    prepare,
    running_gateway,
    site_doc,
    unique_settings,
)


async def _alerts(h: Harness, kind: str) -> list[Alert]:
    return [a for a in await h.running.store.list_alerts() if a.type.value == kind]


async def _one(h: Harness, kind: str) -> Alert:
    async def raised() -> bool:
        return len(await _alerts(h, kind)) >= 1

    await h.wait_for(raised)
    [alert] = await _alerts(h, kind)
    return alert


async def _ack(h: Harness, alert: Alert) -> None:
    url = f"http://127.0.0.1:{h.running.http_port}/api/v1/alerts/{alert.id}/ack"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {h.token}"}) as client:
        answer = await client.post(url)
    assert answer.json()["status"] == "acknowledged"


async def _ticked(h: Harness, clock: FakeClock) -> None:
    """Move past the next tick and wait until its transaction committed."""
    clock.advance(h.settings.tick_s + 1)
    due = epoch(clock.now())

    async def committed() -> bool:
        last = await h.running.store.meta("watch.last_tick")
        return last is not None and last >= due

    await h.wait_for(committed)


async def _events(h: Harness, household: str, n: int) -> None:
    async def stored() -> bool:
        return len(await h.running.store.household_events(household)) >= n

    await h.wait_for(stored)


async def test_acknowledged_left_open_survives_a_restart_and_resolves_on_closing(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Left open, acknowledged, restart: not raised again; the door closes → it is resolved."""
    settings = unique_settings(tmp_path, broker)
    clock = FakeClock(at_local("2026-11-23 03:00"))
    token = await prepare(settings, site_doc(door_debounce_s=0), clock.now())
    with SimLink(broker.host, broker.port) as link:
        # One sensor throughout: its sequence numbers go on across the restart, as a real one's.
        sensor = DoorSensor(link, "door-h2", "native", base_topic=settings.base_topic)
        async with running_gateway(settings, broker, clock, token) as h:
            await asyncio.to_thread(sensor.open)
            await _one(h, "door_breach")
            clock.advance(120)  # site_doc's door_left_open_s
            await _ticked(h, clock)
            left = await _one(h, "door_left_open")
            await _ack(h, left)
        async with running_gateway(settings, broker, clock, token) as h:
            for _ in range(3):
                await _ticked(h, clock)
            assert [a.id for a in await _alerts(h, "door_left_open")] == [left.id]
            await asyncio.to_thread(sensor.close)
            await _events(h, "h2", 2)
            [after] = await _alerts(h, "door_left_open")
    assert after.id == left.id
    assert after.status.value == "resolved"
    assert after.resolved_by == "system"


async def test_acknowledged_tamper_is_not_raised_again_after_a_restart(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Tamper raised and acknowledged; after a restart the still-set flag raises nothing new."""
    settings = unique_settings(tmp_path, broker)
    clock = FakeClock(at_local("2026-11-23 03:00"))
    token = await prepare(settings, site_doc(door_debounce_s=0), clock.now())
    with SimLink(broker.host, broker.port) as link:
        sensor = DoorSensor(link, "door-h2", "native", base_topic=settings.base_topic)
        async with running_gateway(settings, broker, clock, token) as h:
            await asyncio.to_thread(sensor.close, tamper=True)
            tamper = await _one(h, "tamper")
            await _ack(h, tamper)
        async with running_gateway(settings, broker, clock, token) as h:
            await asyncio.to_thread(sensor.close, tamper=True)
            await _events(h, "h2", 2)  # the report is committed, with whatever it raised
            alerts = await _alerts(h, "tamper")
    assert [(a.id, a.status.value) for a in alerts] == [(tamper.id, "acknowledged")]


async def test_a_new_opening_after_an_acknowledged_breach_is_a_new_breach(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Breach acknowledged, door closed, restart, door opens again: a second breach alert."""
    settings = unique_settings(tmp_path, broker)
    clock = FakeClock(at_local("2026-11-23 03:00"))
    token = await prepare(settings, site_doc(door_debounce_s=0), clock.now())
    with SimLink(broker.host, broker.port) as link:
        sensor = DoorSensor(link, "door-h2", "native", base_topic=settings.base_topic)
        async with running_gateway(settings, broker, clock, token) as h:
            await asyncio.to_thread(sensor.open)
            first = await _one(h, "door_breach")
            await _ack(h, first)
            await asyncio.to_thread(sensor.close)
            await _events(h, "h2", 2)
        clock.advance(60)
        async with running_gateway(settings, broker, clock, token) as h:
            await asyncio.to_thread(sensor.open)
            await _events(h, "h2", 3)
            breaches = await _alerts(h, "door_breach")
    assert len(breaches) == 2
    assert {a.status.value for a in breaches if a.id != first.id} == {"open"}
