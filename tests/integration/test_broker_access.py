"""A real Mosquitto with the files of `isogate broker-config`: only the right person acks."""

from __future__ import annotations

import asyncio
import json
import queue
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.clock import SystemClock
from simulators.broker import Mosquitto, free_port, mosquitto_available
from simulators.door import DoorSensor
from simulators.link import SimLink
from simulators.police_app import PoliceApp, ReceivedAlert
from tests.broker_support import generated_config
from tests.conftest import (
    BrokerUnderTest,
    Harness,
    prepare,
    running_gateway,
    site_doc,
    subscribed,
    unique_settings,
)

pytestmark = pytest.mark.skipif(not mosquitto_available(), reason="needs mosquitto")

BASE = "isogate"


def _breach_of(household: str):
    def found(alerts: list[ReceivedAlert]) -> bool:
        return any(a.household == household and a.type == "door_breach" for a in alerts)

    return found


def _status_of(alert_id: str, status: str):
    def found(alerts: list[ReceivedAlert]) -> bool:
        return any(a.id == alert_id and a.status == status for a in alerts)

    return found


def _forge(port: int, login: dict[str, Any], topic: str, payload: bytes) -> None:
    """Publish where the login may not, on a connection of its own, and wait for the PUBACK.

    Mosquitto answers, drops the message and, with ``max_queued_messages 0`` (the recommended
    configuration), closes the connection.
    """
    with SimLink("127.0.0.1", port, **login) as link:
        link.publish(topic, payload)


async def _rejected(h: Harness, text: str) -> bool:
    return any(text in r.reason for r in await h.running.store.list_rejected())


async def test_only_the_person_an_alert_reached_can_acknowledge_it_through_the_broker(
    tmp_path: Path,
):
    """p2 can neither ack for p1 nor read p1's alerts; p1's ack is taken; d1's, whom the alert
    never reached, is refused into the rejected list; the old topic is closed."""
    port = free_port()
    address = BrokerUnderTest("mosquitto", "127.0.0.1", port)
    settings = unique_settings(tmp_path, address, base_topic=BASE)
    token = await prepare(settings, site_doc(door_debounce_s=0), SystemClock().now())

    files = tmp_path / "broker"
    hint = f"mqtt://gateway:<pw>@127.0.0.1:{port}"
    settings, creds = await generated_config(settings, port, files, stderr_has=hint)

    def login(user: str) -> dict[str, Any]:
        return {"username": user, "password": creds[user]}

    conf = (files / "mosquitto.conf").read_text()
    with Mosquitto(tmp_path / "mosquitto", port, access=conf) as mosquitto:
        with pytest.raises(ConnectionRefusedError):
            SimLink("127.0.0.1", port).__enter__()  # nobody without a login
        broker = BrokerUnderTest("mosquitto", "127.0.0.1", port, mosquitto)
        async with running_gateway(settings, broker, SystemClock(), token, watch=False) as h:
            await _story(h, port, login)


async def _story(h: Harness, port: int, login: Any) -> None:
    """Two breaches, p1's (h1) and p2's (h2), and who may do what about them."""
    where = {"port": port, "base": BASE, "ack_delay": None}
    p1 = await asyncio.to_thread(PoliceApp("p1", **where, **login("p1")).start)
    p2 = await asyncio.to_thread(PoliceApp("p2", **where, **login("p2")).start)
    spied: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
    try:
        with (
            SimLink("127.0.0.1", port, **login("p2")) as spy,
            SimLink("127.0.0.1", port, **login("d1")) as d1,
            SimLink("127.0.0.1", port, **login("zigbee2mqtt")) as zigbee,
            SimLink("127.0.0.1", port, **login("door-h2")) as door_h2,
        ):
            # p2, on a second connection, tries to listen to p1's alerts and to every alert.
            spy.client.on_message = lambda _c, _u, m: spied.put((m.topic, json.loads(m.payload)))
            for topic in (f"{BASE}/alerts/to/p1", f"{BASE}/alerts", f"{BASE}/alerts/to/p2"):
                await subscribed(spy, topic)

            # h1's door opens (through the zigbee2mqtt bridge's login): p1 is told.
            z2m = h.settings.z2m_base_topic
            await asyncio.to_thread(DoorSensor(zigbee, "h1/front door", z2m_base=z2m).open)
            h1 = next(a for a in await asyncio.to_thread(p1.wait_for, _breach_of("h1")))
            assert "p1" in h1.payload["recipients"]
            # h2's door opens (its own login): p2 is told, on their own topic and on the spy's.
            await asyncio.to_thread(DoorSensor(door_h2, "door-h2", "native", base_topic=BASE).open)
            h2 = next(a for a in await asyncio.to_thread(p2.wait_for, _breach_of("h2")))
            sentinel = await asyncio.to_thread(spied.get, True, 5)
            # The broker keeps one publisher's order: h1's alert would have come before h2's.
            assert (sentinel[0], sentinel[1]["id"]) == (f"{BASE}/alerts/to/p2", h2.id)
            assert spied.empty()

            # p2 acknowledges on p1's topic, and in the old form: the broker drops both (and
            # the connection). p2's own ack, sent after the broker answered those, is taken.
            await asyncio.to_thread(_forge, port, login("p2"), f"{BASE}/ack/p1/{h1.id}", b"")
            await asyncio.to_thread(
                _forge, port, login("p2"), f"{BASE}/ack/{h1.id}", b'{"by": "p1"}'
            )
            await asyncio.to_thread(p2.ack, h2.id)
            await asyncio.to_thread(p2.wait_for, _status_of(h2.id, "acknowledged"))
            assert (await h.running.store.get_alert(h1.id)).status.value == "open"

            # d1 may publish on their own ack topic, but h2's breach never reached them.
            await asyncio.to_thread(d1.publish, f"{BASE}/ack/d1/{h2.id}", b"")
            refusal = f"ack by d1 refused: d1 is not among the recipients of alert {h2.id}"
            await h.wait_for(lambda: _rejected(h, refusal))

            # p1 acknowledges, with a note: taken, and p1's app hears the update.
            await asyncio.to_thread(p1.ack, h1.id, "已电话联系住户，正在赶往")
            await asyncio.to_thread(p1.wait_for, _status_of(h1.id, "acknowledged"))
    finally:
        await asyncio.to_thread(p1.stop)
        await asyncio.to_thread(p2.stop)

    stored = await h.running.store.get_alert(h1.id)
    assert (stored.status.value, stored.acked_by) == ("acknowledged", "p1")
    acked = (await h.running.store.alert_history(h1.id))[-1]
    assert (acked.action, acked.by, acked.via) == ("acknowledged", "p1", "mqtt")
    assert acked.note == "已电话联系住户，正在赶往"
    # The ack is in the audit log, written with it: by p1, an officer, over MQTT.
    audited = await h.running.store.list_audit(actor="p1", action="ack")
    assert [(e.role, e.via, e.target, e.household) for e in audited] == [
        ("officer", "mqtt", h1.id, "h1")
    ]
    # Nothing of the forgeries reached the gateway: d1's is the only ack in the rejected list.
    url = f"http://127.0.0.1:{h.running.http_port}/api/v1/rejected"
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {h.token}"}) as client:
        rejected = (await client.get(url)).json()
    acks = [r for r in rejected if "/ack/" in r["topic"]]
    assert [(r["topic"], r["reason"]) for r in acks] == [(f"{BASE}/ack/d1/{h2.id}", refusal)]
    assert (await h.running.store.get_alert(h2.id)).acked_by == "p2"
    assert all(t.endswith("/alerts/to/p2") for t, _ in list(spied.queue))
