"""The technician's view (binding an unknown device, the live commissioning checklist) and a
household's timeline."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from simulators.ble import BleThermometer
from simulators.door import DoorSensor
from tests.conftest import BrokerUnderTest, Harness, at_local, fake_time_gateway


def _client(h: Harness, token: str) -> httpx.AsyncClient:
    url = f"http://127.0.0.1:{h.running.http_port}"
    return httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


@pytest.fixture
async def people(gateway: Harness) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """Clients of the admin, technician t1 and officer p1."""
    now = gateway.running.pipeline.clock.now()
    await gateway.running.store.add_user("t1", "technician", "t1-token", now)
    await gateway.running.store.add_user("p1", "officer", "p1-token", now)
    clients = {
        "admin": _client(gateway, gateway.token),
        "t1": _client(gateway, "t1-token"),
        "p1": _client(gateway, "p1-token"),
    }
    yield clients
    for c in clients.values():
        await c.aclose()


async def test_a_technician_binds_an_unknown_sensor_and_the_gateway_takes_it_up(
    gateway: Harness, people: dict[str, httpx.AsyncClient]
):
    """A sensor heard as "h1/back door" is bound to h1's door slot by t1: it leaves the unknown
    list and its next opening is h1's door event. An officer may not bind; an address bound to
    another slot is 409; a slot that does not exist 404."""
    t1 = people["t1"]
    with gateway.link() as link:
        back = DoorSensor(link, "h1/back door", "zigbee2mqtt", z2m_base=gateway.z2m)
        await asyncio.to_thread(back.close)

        async def heard() -> bool:
            found = (await t1.get("/api/v1/devices/unknown")).json()
            return [u["address"] for u in found] == ["h1/back door"]

        await gateway.wait_for(heard)
        bind = {"protocol": "zigbee2mqtt", "address": "h1/back door", "household": "h1"}
        refused = await people["p1"].post(
            "/api/v1/devices/unknown/bind", json=bind | {"device": "door-h1"}
        )
        assert refused.status_code == 403
        missing = await t1.post("/api/v1/devices/unknown/bind", json=bind | {"device": "door-h9"})
        assert missing.status_code == 404
        taken = bind | {"address": "h1/front door", "household": "h2", "device": "door-h2"}
        assert (await t1.post("/api/v1/devices/unknown/bind", json=taken)).status_code == 409
        done = await t1.post("/api/v1/devices/unknown/bind", json=bind | {"device": "door-h1"})
        assert done.status_code == 200, done.text
        assert done.json()["address"] == "h1/back door" and done.json()["revision"] >= 2

        async def taken_up() -> bool:
            return gateway.running.pipeline.directory.device("door-h1").device.address == (
                "h1/back door"
            )

        await gateway.wait_for(taken_up)
        assert (await t1.get("/api/v1/devices/unknown")).json() == []
        await asyncio.to_thread(back.open)

        async def door_event() -> bool:
            found = (await t1.get("/api/v1/households/h1/events?kind=door")).json()
            return any(e["device"] == "door-h1" and e["data"]["open"] for e in found)

        await gateway.wait_for(door_event)


async def test_the_commissioning_checklist_ticks_off_what_each_device_showed(
    gateway: Harness, people: dict[str, httpx.AsyncClient]
):
    """h1's door opens and closes and r1 takes a reading: every item done, with when; h2's
    devices, silent, leave its checklist incomplete."""
    t1 = people["t1"]
    before = (await t1.get("/api/v1/households/h1/commission")).json()
    assert before["complete"] is False
    assert [(i["device"], i["check"], i["done"]) for i in before["items"]] == [
        ("door-h1", "door opened", False),
        ("door-h1", "door closed", False),
        ("therm-r1", "a reading", False),
    ]
    with gateway.link() as link:
        door = DoorSensor(link, "h1/front door", "zigbee2mqtt", z2m_base=gateway.z2m)
        await asyncio.to_thread(door.open)
        await asyncio.to_thread(door.close)
        await asyncio.to_thread(
            BleThermometer(link, omg_base=gateway.settings.omg_base_topic).reading, 36.5
        )

    async def complete() -> bool:
        return bool((await t1.get("/api/v1/households/h1/commission")).json()["complete"])

    await gateway.wait_for(complete)
    after = (await t1.get("/api/v1/households/h1/commission")).json()
    assert all(i["done"] and i["at"] for i in after["items"])
    assert (await t1.get("/api/v1/households/h2/commission")).json()["complete"] is False
    assert (await people["p1"].get("/api/v1/households/h2/commission")).status_code == 403


async def test_a_households_timeline_interleaves_visit_events_readings_and_alerts(
    tmp_path: Path, broker: BrokerUnderTest
):
    """10:05 in h1's delivery window: the door opens and closes, r1 reads 36.8; h2's door opens
    out of any window and its breach is acknowledged. Each timeline, newest first, says so."""
    async with fake_time_gateway(tmp_path, broker, at_local("2026-11-23 10:05")) as (h, _clock):
        with h.link() as link:
            door = DoorSensor(link, "h1/front door", "zigbee2mqtt", z2m_base=h.z2m)
            await asyncio.to_thread(door.open)
            await asyncio.to_thread(door.close)
            await asyncio.to_thread(
                BleThermometer(link, omg_base=h.settings.omg_base_topic).reading, 36.8
            )
            await asyncio.to_thread(DoorSensor(link, "door-h2", "native", base_topic=h.base).open)
        while (alert := (await h.next_alert())[1])["type"] != "door_breach":
            pass
        await h.running.ops.ack(alert["id"], "w2", via="mqtt")
        async with _client(h, h.token) as admin:

            async def all_in() -> bool:
                got = (await admin.get("/api/v1/households/h1/timeline")).json()
                return sum(e["kind"] in ("event", "reading") for e in got) == 3

            await h.wait_for(all_in)
            h1 = (await admin.get("/api/v1/households/h1/timeline?hours=1")).json()
            h2 = (await admin.get("/api/v1/households/h2/timeline")).json()
    assert [e["at"] for e in h1] == sorted((e["at"] for e in h1), reverse=True)
    kinds = [e["kind"] for e in h1]
    assert sorted(kinds) == ["event", "event", "reading", "visit"]
    assert kinds[-1] == "visit"  # 10:00, before the door
    texts = " | ".join(e["text"] for e in h1)
    assert "door-h1 开门" in texts and "door-h1 关门" in texts and "张三 体温 36.8°C" in texts
    [visit] = [e for e in h1 if e["kind"] == "visit"]
    assert "delivery" in visit["text"] and visit["at"].startswith("2026-11-23T10:00")
    alerts = [e for e in h2 if e["kind"] == "alert"]
    assert [e["ref"] for e in alerts] == [alert["id"], alert["id"]]
    assert "确认 (w2)" in alerts[0]["text"] and alerts[1]["text"] == alert["message"]
