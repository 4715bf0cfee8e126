"""Nothing accepted is lost: the gateway SIGKILLed mid-burst, the broker restarted."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import SystemClock
from gateway.store import Store
from isogate.settings import Settings
from simulators.broker import Mosquitto, free_port
from simulators.link import SimLink
from simulators.process import start_gateway, wait_healthy
from tests.conftest import BrokerUnderTest, prepare, site_doc, unique_settings


async def _events(settings: Settings) -> list[int]:
    async with Store.open(settings.db_url) as store:
        rows = await store.household_events("h2", limit=1_000_000)
    return [e.seq for e in rows if e.seq is not None]


async def _wait_events(settings: Settings, n: int, timeout: float = 90) -> list[int]:
    deadline = time.monotonic() + timeout
    while True:
        seqs = await _events(settings)
        if len(seqs) >= n or time.monotonic() > deadline:
            return seqs
        await asyncio.sleep(0.25)


def _burst(link: SimLink, topic: str, seqs: range) -> None:
    """QoS 1 door events with sequence numbers and device times."""
    link.publish_many(
        (topic, json.dumps({"type": "door", "open": seq % 2 == 0, "seq": seq, "ts": time.time()}))
        for seq in seqs
    )


SENTINEL = 10_000  # a sequence number after the burst's


def _quiet_site() -> dict:
    doc = site_doc(door_debounce_s=0)
    # Events are the subject here: h2 is out of isolation, so doors are recorded, not alerted.
    doc["households"][1]["isolation"] = {"start": "2026-01-01T00:00", "end": "2026-01-02T00:00"}
    return doc


async def test_sigkill_mid_burst_and_5000_while_down_loses_nothing(
    tmp_path: Path, broker: BrokerUnderTest, mosquitto_only: Mosquitto
):
    """SIGKILL during a burst, 5,000 more while down, restart: every event once in the log."""
    settings = unique_settings(tmp_path, broker, http_port=free_port())
    await prepare(settings, _quiet_site(), SystemClock().now())
    topic = f"{settings.base_topic}/dev/door-h2/event"
    gw = start_gateway(settings)
    try:
        await wait_healthy(settings.http_port)
        with SimLink(broker.host, broker.port) as link:
            first = asyncio.create_task(asyncio.to_thread(_burst, link, topic, range(1, 3001)))
            await _wait_events(settings, 300, timeout=30)
            gw.send_signal(signal.SIGKILL)
            gw.wait(10)
            await first
            stored_at_kill = len(await _events(settings))
            await asyncio.to_thread(_burst, link, topic, range(3001, 8001))
        gw = start_gateway(settings)
        await _wait_events(settings, 8000)
        # A later sentinel on the same topic: stored, it proves every redelivery before it was.
        with SimLink(broker.host, broker.port) as link:
            await asyncio.to_thread(_burst, link, topic, range(SENTINEL, SENTINEL + 1))
        deadline = time.monotonic() + 30
        while SENTINEL not in (seqs := await _events(settings)) and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
        assert SENTINEL in seqs
        seqs = [seq for seq in seqs if seq != SENTINEL]
    finally:
        gw.kill()
        gw.wait(10)
    print(f"\nstored before SIGKILL: {stored_at_kill} of 3000; after restart: {len(seqs)}")
    assert stored_at_kill < 8000
    assert len(seqs) == 8000
    assert sorted(seqs) == list(range(1, 8001))


async def test_broker_restart_while_gateway_down_keeps_queued_events(
    tmp_path: Path, broker: BrokerUnderTest, mosquitto_only: Mosquitto
):
    """Events queued for the stopped gateway survive a broker restart (persistence on)."""
    settings = unique_settings(tmp_path, broker, http_port=free_port())
    await prepare(settings, _quiet_site(), SystemClock().now())
    topic = f"{settings.base_topic}/dev/door-h2/event"
    gw = start_gateway(settings)
    try:
        await wait_healthy(settings.http_port)
        gw.send_signal(signal.SIGTERM)
        gw.wait(20)
        with SimLink(broker.host, broker.port) as link:
            await asyncio.to_thread(_burst, link, topic, range(1, 1501))
        mosquitto_only.restart()
        gw = start_gateway(settings)
        await wait_healthy(settings.http_port)
        seqs = await _wait_events(settings, 1500, timeout=60)
    finally:
        gw.kill()
        gw.wait(10)
    assert sorted(seqs) == list(range(1, 1501))


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_gateway_stops_cleanly_on_signal(
    tmp_path: Path, broker: BrokerUnderTest, signum: int
):
    """SIGTERM or Ctrl-C ends `isogate run` promptly with exit status 0."""
    settings = unique_settings(tmp_path, broker, http_port=free_port())
    await prepare(settings, _quiet_site(), SystemClock().now())
    gw = start_gateway(settings)
    try:
        await wait_healthy(settings.http_port)
        gw.send_signal(signum)
        assert gw.wait(15) == 0
    finally:
        gw.kill()


async def test_gateway_reconnects_after_a_broker_restart(
    tmp_path: Path, broker: BrokerUnderTest, mosquitto_only: Mosquitto
):
    """The broker restarts under a running gateway: health says so, it reconnects, alerts again."""
    from simulators.door import DoorSensor
    from tests.conftest import running_gateway

    settings = unique_settings(tmp_path, broker)
    clock = SystemClock()
    token = await prepare(settings, site_doc(door_debounce_s=0), clock.now())

    def broker_part(h: Any) -> Any:
        return next(p for p in h.running.health.parts() if p.name == "broker")

    async with running_gateway(settings, broker, clock, token) as h:
        assert broker_part(h).ok
        await asyncio.to_thread(mosquitto_only.stop)
        try:
            deadline = time.monotonic() + 10
            while broker_part(h).ok and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            assert not broker_part(h).ok
            assert not h.running.health.ok()
        finally:
            await asyncio.to_thread(mosquitto_only.start)
        deadline = time.monotonic() + 40
        while not h.running.session.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert h.running.session.connected
        assert broker_part(h).ok
        with SimLink(broker.host, broker.port) as link:
            await asyncio.to_thread(
                DoorSensor(link, "door-h2", "native", base_topic=settings.base_topic).open
            )
        async with Store.open(settings.db_url) as store:
            for _ in range(100):
                if await store.list_alerts():
                    break
                await asyncio.sleep(0.05)
            assert [a.household_id for a in await store.list_alerts()] == ["h2"]
