"""Thermometers, device health and the 433 MHz receiver, end to end through the gateway."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.clock import SystemClock
from simulators.ble import BleThermometer, GatewayStyle
from simulators.door import DoorSensor
from simulators.rflink import Ev1527Contact, RFLinkSimulator
from tests.conftest import (
    BrokerUnderTest,
    Harness,
    advance,
    at_local,
    fake_time_gateway,
    prepare,
    running_gateway,
    site_doc,
    unique_settings,
)


async def _next_of(
    h: Harness,
    type_: str,
    topic_end: str = "/alerts",
    timeout: float = 5.0,
    device: str | None = None,
):
    deadline = asyncio.get_running_loop().time() + timeout
    seen = []
    while asyncio.get_running_loop().time() < deadline:
        try:
            topic, alert = await h.next_alert(timeout=0.2)
        except Exception:
            continue
        seen.append((topic, alert["type"], alert["status"]))
        wanted = device is None or alert["device"] == device
        if alert["type"] == type_ and topic.endswith(topic_end) and wanted:
            return alert
    raise TimeoutError(f"no {type_} on *{topic_end}; saw {seen}")


async def test_fever_from_a_ble_thermometer_reaches_the_doctor(gateway: Harness):
    """OpenMQTTGateway relays 38.2 °C from r1's thermometer → fever on d1's topic."""
    with gateway.link() as link:
        therm = BleThermometer(link, omg_base=gateway.settings.omg_base_topic)
        await asyncio.to_thread(therm.fever, 38.2)
        alert = await _next_of(gateway, "fever", "/alerts/to/d1")
    assert alert["household"] == "h1"
    assert alert["device"] == "therm-r1"
    assert alert["severity"] == "high"
    assert "张三" in alert["message"] and "38.2" in alert["message"]
    assert alert["recipients"][0] == "d1"


async def test_theengs_reading_below_fever_and_out_of_range_one_are_not_alerts(gateway: Harness):
    """36.6 °C is a reading; 24.5 °C (the room) is rejected as a measurement error."""
    with gateway.link() as link:
        therm = BleThermometer(
            link, style=GatewayStyle.THEENGS, omg_base=gateway.settings.omg_base_topic
        )
        await asyncio.to_thread(therm.reading, 36.6)
        await asyncio.to_thread(therm.out_of_range)
        store = gateway.running.store

        async def both() -> bool:
            return bool(await store.list_rejected()) and bool(
                await store.household_events("h1", kind="temperature")
            )

        await gateway.wait_for(both)
    [reading] = await store.household_events("h1", kind="temperature")
    assert reading.data.celsius == 36.6
    [bad] = await store.list_rejected()
    assert "measurement error" in bad.reason
    assert await store.list_alerts() == []


async def test_resident_who_skips_the_evening_window_gets_missed_reading_at_its_end(
    tmp_path: Path, broker: BrokerUnderTest
):
    """r1 measures at 18:00, r2 never does: at 21:00 only r2 is missed, to d1 and w3."""
    start = at_local("2026-11-23 17:59")
    async with fake_time_gateway(tmp_path, broker, start) as (h, clock):
        await advance(clock, 1)  # the first tick remembers its time
        await advance(clock, 60)
        with h.link() as link:
            therm = BleThermometer(link, omg_base=h.settings.omg_base_topic)
            await asyncio.to_thread(therm.reading, 36.5)
        await h.wait_for(lambda: _has_reading(h))
        await advance(clock, 3 * 3600 - 2)  # 20:59:59
        await advance(clock, 2)  # 21:00:01
        alert = await _next_of(h, "missed_reading", "/alerts/to/d1")
        assert alert["household"] == "h2"
        assert alert["recipients"] == ["d1", "w3"]
        assert "李四" in alert["message"]
        await advance(clock, 600)
        missed = await h.running.store.list_alerts(type="missed_reading")
        assert [a.household_id for a in missed] == ["h2"]


async def _has_reading(h: Harness) -> bool:
    return bool(await h.running.store.household_events("h1", kind="temperature"))


async def test_silent_sensor_goes_offline_and_clears_when_it_speaks(
    tmp_path: Path, broker: BrokerUnderTest
):
    """A door sensor silent past its kind's allowance → device_offline; a heartbeat clears it."""
    doc = site_doc(offline_s_by_kind={"door": 900, "thermometer": 86400})
    start = at_local("2026-11-23 09:00")
    async with fake_time_gateway(tmp_path, broker, start, doc) as (h, clock):
        with h.link() as link:
            sensor = DoorSensor(link, "door-h2", "native", base_topic=h.base)
            await asyncio.to_thread(sensor.heartbeat)
            await h.wait_for(lambda: _seen(h, "door-h2"))
            await advance(clock, 600)
            await advance(clock, 299)
            assert not await h.running.store.list_alerts(type="device_offline")
            await advance(clock, 2)
            # door-h1 was never heard at all: it goes offline too, which is right.
            alert = await _next_of(h, "device_offline", "/alerts/to/t1", device="door-h2")
            assert alert["recipients"] == ["t1", "w2"]
            heard = len(await h.running.store.household_events("h2"))
            await asyncio.to_thread(sensor.heartbeat)

            async def heard_again() -> bool:
                return len(await h.running.store.household_events("h2")) > heard

            await h.wait_for(heard_again)
            await advance(clock, 1)  # the next tick notices it is back
            cleared = await _next_of(h, "device_offline", device="door-h2")
            while cleared["status"] != "resolved":
                cleared = await _next_of(h, "device_offline", device="door-h2")
        assert cleared["id"] == alert["id"]


async def _seen(h: Harness, device: str) -> bool:
    return any(e.device_id == device for e in await h.running.store.household_events("h2"))


async def test_433mhz_door_event_from_the_pty_is_the_same_breach(
    tmp_path: Path, broker: BrokerUnderTest
):
    """An EV1527 contact heard by the RFLink receiver on a pty raises door_breach like zigbee."""
    contact = Ev1527Contact(id="0a1b2c")
    doc = site_doc(door_debounce_s=0)
    doc["households"][1]["devices"][0] = {
        "id": "door-h2",
        "kind": "door",
        "protocol": "rflink",
        "address": "EV1527:0A1B2C",
        "codes": contact.codes(),
    }
    with RFLinkSimulator(repeats=3) as radio:
        settings = unique_settings(tmp_path, broker, rflink_port=radio.path)
        clock = SystemClock()
        token = await prepare(settings, doc, clock.now())
        async with running_gateway(settings, broker, clock, token) as h:
            await asyncio.sleep(0.5)  # the receiver opens the port
            await asyncio.to_thread(radio.open_door, contact)
            alert = await _next_of(h, "door_breach", "/alerts/to/p2")
            assert alert["household"] == "h2"
            assert alert["device"] == "door-h2"
            # Line noise and an unbound contact: kept for the technician, nothing stops.
            await asyncio.to_thread(radio.write, b"20;\xff\xfe;garbage\r\n")
            await asyncio.to_thread(radio.open_door, Ev1527Contact(id="ffff01"))

            async def both_kept() -> bool:
                return len(await h.running.store.list_rejected()) >= 2

            await h.wait_for(both_kept)
            # Kept after the breach's frames on the same line: any repeat was handled by now.
            events = await h.running.store.household_events("h2", kind="door")
            assert len(events) == 1  # three repeats of the frame are one event
            assert events[0].source == "serial"
            unknown = await h.running.store.list_unknown()
            assert [u["address"] for u in unknown] == ["EV1527:ffff01"]
