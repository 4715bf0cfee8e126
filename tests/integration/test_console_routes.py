"""The console's routes: response plans and their steps, who acted on an alert in every copy of
it, the unresolved filter, the household grid and the household page."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from simulators.ble import BleThermometer
from simulators.door import DoorSensor
from tests.conftest import Harness


@pytest.fixture
async def client(gateway: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's HTTP client on the running gateway's API."""
    url = f"http://127.0.0.1:{gateway.running.http_port}"
    headers = {"Authorization": f"Bearer {gateway.token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as c:
        yield c


async def _breach(gateway: Harness) -> dict[str, Any]:
    """h2's door opens: its breach as published on the all-alerts topic."""
    with gateway.link() as link:
        await asyncio.to_thread(DoorSensor(link, "door-h2", "native", base_topic=gateway.base).open)
    while True:
        topic, alert = await gateway.next_alert()
        if topic.endswith("/alerts") and alert["type"] == "door_breach":
            return alert


async def _published(gateway: Harness, alert_id: str, status: str) -> list[tuple[str, dict]]:
    """Copies of an alert published until one with ``status`` on the all-alerts topic."""
    seen = []
    while True:
        topic, alert = await gateway.next_alert()
        if alert["id"] == alert_id:
            seen.append((topic, alert))
        if topic.endswith("/alerts") and alert["id"] == alert_id and alert["status"] == status:
            return seen


async def test_every_alert_type_has_a_short_plan_in_both_languages(client: httpx.AsyncClient):
    """GET /plans: each alert type, a few steps, each with a key, Chinese and English."""
    plans = (await client.get("/api/v1/plans")).json()
    assert {"door_breach", "fever", "no_watcher_on_duty"} <= set(plans)
    assert [s["step"] for s in plans["door_breach"]][:2] == ["call_officer", "check_camera"]
    for steps in plans.values():
        assert 2 <= len(steps) <= 5
        assert all(s["zh"] and s["en"] for s in steps)


async def test_a_step_is_recorded_with_the_alert_and_tells_consoles_but_buzzes_nobody(
    gateway: Harness, client: httpx.AsyncClient
):
    """A ticked step is in the alert's steps and history (who, via), on the all-alerts topic
    only; an unknown step is 422, a step on a resolved alert 409."""
    alert = await _breach(gateway)
    done = await client.post(f"/api/v1/alerts/{alert['id']}/steps", json={"step": "call_officer"})
    assert done.status_code == 200, done.text
    [step] = done.json()["steps"]
    assert (step["step"], step["by"]) == ("call_officer", "admin") and step["at"]
    assert done.json()["updated_at"] > alert["updated_at"]
    # Then acknowledged: its copies, on every topic, carry the step and who acknowledged.
    assert (await client.post(f"/api/v1/alerts/{alert['id']}/ack")).status_code == 200
    copies = await _published(gateway, alert["id"], "acknowledged")
    stepped = [t for t, a in copies if a["status"] == "open" and a["steps"]]
    assert [t.rsplit("/", 1)[-1] for t in stepped] == ["alerts"]
    acked = [a for _, a in copies if a["status"] == "acknowledged"]
    assert acked and all(a["acked_by"] == "admin" and a["steps"] for a in acked)
    history = (await client.get(f"/api/v1/alerts/{alert['id']}")).json()["history"]
    assert {"action": "step", "by": "admin", "note": "call_officer", "via": "rest"} in [
        {k: h[k] for k in ("action", "by", "note", "via")} for h in history
    ]
    bad = await client.post(f"/api/v1/alerts/{alert['id']}/steps", json={"step": "dance"})
    assert bad.status_code == 422
    await client.post(f"/api/v1/alerts/{alert['id']}/resolve", json={"note": "neighbour"})
    late = await client.post(f"/api/v1/alerts/{alert['id']}/steps", json={"step": "note_outcome"})
    assert late.status_code == 409


async def test_unresolved_lists_acknowledged_alerts_and_the_household_page_shows_them(
    gateway: Harness, client: httpx.AsyncClient
):
    """An acknowledged breach is unresolved (not open) and still on h2's page."""
    alert = await _breach(gateway)
    await client.post(f"/api/v1/alerts/{alert['id']}/ack")
    unresolved = (await client.get("/api/v1/alerts?status=unresolved")).json()
    assert [(a["id"], a["status"]) for a in unresolved] == [(alert["id"], "acknowledged")]
    assert (await client.get("/api/v1/alerts?status=open")).json() == []
    page = (await client.get("/api/v1/households/h2")).json()
    assert [a["id"] for a in page["alerts"]] == [alert["id"]]
    await client.post(f"/api/v1/alerts/{alert['id']}/resolve", json={"note": "ok"})
    assert (await client.get("/api/v1/households/h2")).json()["alerts"] == []


async def test_the_grid_shows_door_temperature_devices_and_open_alerts(
    gateway: Harness, client: httpx.AsyncClient
):
    """h1's door opened and r1 took a reading: the grid row says so; h2 is untouched."""
    with gateway.link() as link:
        await asyncio.to_thread(
            DoorSensor(link, "h1/front door", "zigbee2mqtt", z2m_base=gateway.z2m).open
        )
        await asyncio.to_thread(
            BleThermometer(link, omg_base=gateway.settings.omg_base_topic).reading, 36.6
        )

    async def heard() -> bool:
        rows = {r["id"]: r for r in (await client.get("/api/v1/households")).json()}
        return rows["h1"]["last_celsius"] is not None and rows["h1"]["open_alerts"] == 1

    await gateway.wait_for(heard)
    rows = {r["id"]: r for r in (await client.get("/api/v1/households")).json()}
    h1, h2 = rows["h1"], rows["h2"]
    assert (h1["address"], h1["residents"]) == ("幸福小区3栋2单元501", ["张三"])
    assert h1["door_open"] is True and h1["door_at"]
    assert h1["last_celsius"] == pytest.approx(36.6) and h1["last_celsius_at"]
    assert (h1["open_alerts"], h1["worst_severity"]) == (1, "critical")
    devices = {d["id"]: d for d in h1["devices"]}
    assert devices["door-h1"]["online"] is True and devices["door-h1"]["last_seen"]
    assert devices["door-h1"]["battery"] == 90
    assert devices["therm-r1"]["kind"] == "thermometer"
    assert h1["snapshot"] is None
    assert (h2["door_open"], h2["last_celsius"], h2["open_alerts"], h2["worst_severity"]) == (
        None,
        None,
        0,
        None,
    )
    assert [d["online"] for d in h2["devices"]] == [None, None]
