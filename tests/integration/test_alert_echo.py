"""No alert twice on one MQTT topic: the gateway SIGKILLed while it publishes breaches fast."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gateway.clock import SystemClock
from gateway.notify.echo import DRAIN_WAIT_S
from gateway.store import Store
from gateway.store.records import Alert
from isogate.settings import Settings
from simulators.broker import Mosquitto, free_port, mosquitto_available
from simulators.door import DoorSensor
from simulators.link import SimLink
from simulators.process import start_gateway, wait_healthy
from tests.broker_support import generated_config
from tests.conftest import (
    BrokerUnderTest,
    prepare,
    running_gateway,
    site_doc,
    subscribed,
    unique_settings,
)

HOUSEHOLDS = 600
KILLS = 2


def _community() -> dict[str, Any]:
    """HOUSEHOLDS households, each with one native door sensor and officer p1."""
    doc = site_doc(door_debounce_s=0)
    doc["households"] = [
        {
            "id": f"h{i}",
            "address": f"幸福小区{i}号",
            "officer": "p1",
            "doctor": "d1",
            "technician": "t1",
            "isolation": {"start": "2026-11-20T00:00", "end": "2099-12-04T00:00"},
            "devices": [{"id": f"door-h{i}", "kind": "door", "protocol": "native"}],
        }
        for i in range(1, HOUSEHOLDS + 1)
    ]
    return doc


class Observer:
    """Every alert copy on ``<base>/alerts/#``: (topic, alert id, status, dup)."""

    def __init__(self) -> None:
        self.copies: list[tuple[str, str, str, bool]] = []
        self.times: list[float] = []
        self.lock = threading.Lock()

    def on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        doc = json.loads(msg.payload)
        with self.lock:
            self.copies.append((msg.topic, doc["id"], doc["status"], bool(msg.dup)))
            self.times.append(time.time())

    def snapshot(self) -> list[tuple[str, str, str, bool]]:
        with self.lock:
            return list(self.copies)


def _open(link: SimLink, s: Settings, households: range, every_s: float) -> None:
    for i in households:
        door = {"type": "door", "open": True, "seq": 1}
        link.publish(f"{s.base_topic}/dev/door-h{i}/event", json.dumps(door), wait=False)
        time.sleep(every_s)


async def _expected(s: Settings) -> tuple[list[Alert], set[tuple[str, str, str]]]:
    """The alerts stored, and the (topic, alert id, status) copies each must reach once."""
    async with Store.open(s.db_url) as store:
        alerts = await store.list_alerts(limit=10 * HOUSEHOLDS)
    base = f"{s.base_topic}/alerts"
    expected = {(base, a.id, "open") for a in alerts}
    expected |= {(f"{base}/to/{r}", a.id, "open") for a in alerts for r in a.recipients}
    return alerts, expected


async def _all_out(
    s: Settings, seen: Observer, breaches: int, timeout: float = 90
) -> set[tuple[str, str, str]]:
    """Wait until ``breaches`` door breaches are stored and every alert reached its topics;
    returns the copies that were due."""
    deadline = time.monotonic() + timeout
    while True:
        alerts, expected = await _expected(s)
        arrived = {c[:3] for c in seen.snapshot()}
        stored = sum(a.type == "door_breach" for a in alerts)
        if stored >= breaches and expected <= arrived:
            return expected
        assert time.monotonic() < deadline, (
            f"{stored} breaches, {len(expected - arrived)} copies due"
        )
        await asyncio.sleep(0.2)


async def test_sigkill_mid_stream_sends_no_alert_twice_on_a_topic(
    tmp_path: Path, broker: BrokerUnderTest, mosquitto_only: Mosquitto
):
    """Breaches at ~500/s, the gateway SIGKILLed twice while it publishes their alerts and
    restarted: each alert exactly once on ``alerts`` and on each recipient's topic."""
    s = unique_settings(tmp_path, broker, http_port=free_port())
    await prepare(s, _community(), SystemClock().now())
    seen = Observer()
    watcher = SimLink(broker.host, broker.port)
    watcher.client.on_message = seen.on_message
    gw = start_gateway(s)
    try:
        with watcher, SimLink(broker.host, broker.port) as link:
            await subscribed(watcher, f"{s.base_topic}/alerts/#")
            await wait_healthy(s.http_port)
            stream = asyncio.create_task(
                asyncio.to_thread(_open, link, s, range(1, HOUSEHOLDS), 0.002)
            )
            for k in range(1, KILLS + 1):
                # Mid-stream: a fraction of the alerts is out, more are being published.
                target = k * HOUSEHOLDS // (KILLS + 2)
                deadline = time.monotonic() + 60
                while len({c[1] for c in seen.snapshot()}) < target:
                    assert time.monotonic() < deadline, "the alerts stopped coming"
                    await asyncio.sleep(0.005)
                gw.send_signal(signal.SIGKILL)
                gw.wait(10)
                gw = start_gateway(s)
                await wait_healthy(s.http_port, 60)
            await stream
            # Every alert out, then a later one: a copy sent again would come before it.
            await _all_out(s, seen, HOUSEHOLDS - 1)
            await asyncio.to_thread(_open, link, s, range(HOUSEHOLDS, HOUSEHOLDS + 1), 0)
            due = await _all_out(s, seen, HOUSEHOLDS)
            await asyncio.sleep(1.0)
    finally:
        gw.kill()
        gw.wait(10)
    alerts, expected = await _expected(s)
    copies = seen.snapshot()
    counts = Counter((topic, alert_id, status) for topic, alert_id, status, _ in copies)
    twice = {key: n for key, n in counts.items() if n > 1}
    missing = due - set(counts)
    print(
        f"\n{len(alerts)} alerts, {len(copies)} copies, {len(twice)} sent twice or more "
        f"({sum(twice.values()) - len(twice)} extra copies), {len(missing)} missing"
    )
    assert sum(a.type == "door_breach" for a in alerts) == HOUSEHOLDS
    assert not missing, sorted(missing)[:5]
    assert not twice, sorted(twice.items())[:5]
    assert set(counts) <= expected  # nothing but the alerts stored


async def test_an_alert_goes_out_when_the_broker_refuses_the_echo(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """Broker files from before the echo (the gateway may not read its alert topics): the
    sentinel never comes back, and the alert still reaches the officer, once, unchecked."""
    if not mosquitto_available():
        pytest.skip("needs mosquitto")
    port = free_port()
    address = BrokerUnderTest("mosquitto", "127.0.0.1", port)
    settings = unique_settings(tmp_path, address, base_topic="isogate")
    token = await prepare(settings, site_doc(door_debounce_s=0), SystemClock().now())
    files = tmp_path / "broker"
    settings, creds = await generated_config(settings, port, files)
    acl = files / "acl"
    old = acl.read_text().replace("topic readwrite isogate/", "topic write isogate/")
    acl.write_text(old)
    seen = Observer()
    with Mosquitto(tmp_path / "mosquitto", port, access=(files / "mosquitto.conf").read_text()):
        broker = BrokerUnderTest("mosquitto", "127.0.0.1", port)
        async with running_gateway(settings, broker, SystemClock(), token, watch=False):
            with (
                SimLink("127.0.0.1", port, username="p1", password=creds["p1"]) as p1,
                SimLink(
                    "127.0.0.1", port, username="zigbee2mqtt", password=creds["zigbee2mqtt"]
                ) as zigbee,
            ):
                p1.client.on_message = seen.on_message
                await subscribed(p1, "isogate/alerts/to/p1")
                z2m = settings.z2m_base_topic
                await asyncio.to_thread(DoorSensor(zigbee, "h1/front door", z2m_base=z2m).open)
                deadline = time.monotonic() + DRAIN_WAIT_S + 20
                while not seen.snapshot():
                    assert time.monotonic() < deadline, "the breach never reached p1"
                    await asyncio.sleep(0.1)
    assert "echoed no sentinel" in caplog.text
    assert seen.snapshot()[0][:1] == ("isogate/alerts/to/p1",)
