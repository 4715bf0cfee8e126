"""Alert lifecycle over the real broker with a fake clock: escalation, ack, resolve, roster."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import httpx

from simulators.ble import BleThermometer
from simulators.door import DoorSensor
from tests.conftest import (
    BrokerUnderTest,
    Harness,
    advance,
    at_local,
    eventually,
    fake_time_gateway,
    site_doc,
    subscribed,
)


async def _alerts_until(h: Harness, pred, timeout: float = 5.0) -> list[tuple[str, dict]]:
    seen = []
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        try:
            item = await h.next_alert(timeout=0.2)
        except Exception:
            continue
        seen.append(item)
        if pred(item):
            return seen
    raise TimeoutError(f"no matching alert; saw {[(t, a['type'], a['status']) for t, a in seen]}")


async def _all_copies(h: Harness, pred) -> list[tuple[str, dict]]:
    """Alerts seen until the first one matching ``pred`` arrived on every topic it goes to."""
    seen = await _alerts_until(h, pred)
    first = next(a for _, a in seen if pred(("", a)))
    topics = {f"{h.base}/alerts"} | {f"{h.base}/alerts/to/{p}" for p in first["recipients"]}

    def copy(item: tuple[str, dict]) -> bool:
        return item[1]["id"] == first["id"] and item[1]["status"] == first["status"]

    while not topics <= {t for t, a in seen if copy((t, a))}:
        seen += await _alerts_until(h, copy)
    return seen


async def _before_sentinel(h: Harness) -> list[tuple[str, dict]]:
    """Alerts published before a later sentinel: r1's fever, waited for on all its topics."""
    with h.link() as link:
        await asyncio.to_thread(
            BleThermometer(link, omg_base=h.settings.omg_base_topic).fever, 38.2
        )
    seen = await _all_copies(h, lambda i: i[1]["type"] == "fever")
    sentinel = next(a["id"] for _, a in seen if a["type"] == "fever")
    return [(t, a) for t, a in seen if a["id"] != sentinel]


async def _breach(h: Harness) -> dict:
    """h2's door opens: its breach, once it reached every topic it goes to."""
    with h.link() as link:
        await asyncio.to_thread(DoorSensor(link, "door-h2", "native", base_topic=h.base).open)
    seen = await _all_copies(h, lambda i: i[1]["type"] == "door_breach")
    return next(a for t, a in seen if t.endswith("/alerts") and a["type"] == "door_breach")


async def test_unacknowledged_breach_escalates_to_the_supervisor(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Nobody acks for ack_timeout_s (120 s): the alert goes to the supervisor too."""
    async with fake_time_gateway(tmp_path, broker, at_local("2026-11-23 03:00")) as (h, clock):
        alert = await _breach(h)
        assert alert["recipients"] == ["p2", "w1"]
        await advance(clock, 119)
        assert [a for _, a in await _before_sentinel(h) if a["id"] == alert["id"]] == []
        await advance(clock, 2)
        seen = await _alerts_until(h, lambda i: i[0].endswith("/alerts/to/s1"))
        up = seen[-1][1]
        assert up["id"] == alert["id"]
        assert up["status"] == "escalated"
        assert up["escalation_level"] == 2
        assert up["recipients"] == ["p2", "w1", "s1"]
        history = await h.running.store.alert_history(alert["id"])
        assert [e.action for e in history] == ["raised", "escalated"]


async def test_mqtt_ack_stops_escalation(tmp_path: Path, broker: BrokerUnderTest):
    """The officer acks from the police app, with a note: no escalation notice goes out after it."""
    async with fake_time_gateway(tmp_path, broker, at_local("2026-11-23 03:00")) as (h, clock):
        alert = await _breach(h)
        note = json.dumps({"note": "已电话联系，住户说是风吹开的"}, ensure_ascii=False)
        with h.link() as app:
            await asyncio.to_thread(app.publish, f"{h.base}/ack/p2/{alert['id']}", note)
        seen = await _all_copies(h, lambda i: i[1]["status"] == "acknowledged")
        assert seen[-1][1]["id"] == alert["id"]
        for _ in range(5):
            await advance(clock, 130)
        # Other alerts happen meanwhile (the door stays open); the breach is never heard again.
        assert [a for _, a in await _before_sentinel(h) if a["id"] == alert["id"]] == []
        stored = await h.running.store.get_alert(alert["id"])
        assert stored.status.value == "acknowledged"
        assert stored.acked_by == "p2"
        assert stored.escalation_level == 0
        acked = (await h.running.store.alert_history(alert["id"]))[-1]
        assert (acked.action, acked.by, acked.via) == ("acknowledged", "p2", "mqtt")
        assert acked.note == "已电话联系，住户说是风吹开的"


async def test_acks_the_gateway_cannot_take_are_rejected_not_fatal(
    tmp_path: Path, broker: BrokerUnderTest
):
    """The old form, a person the alert never reached, a bad payload, an unknown alert: each is
    kept in the rejected list with its reason, and the breach stays open."""
    async with fake_time_gateway(tmp_path, broker, at_local("2026-11-23 03:00")) as (h, _):
        alert = await _breach(h)
        aid = alert["id"]
        with h.link() as app:
            for topic, payload in [
                (f"{h.base}/ack/{aid}", b'{"by": "p2"}'),
                (f"{h.base}/ack/p1/{aid}", b""),
                (f"{h.base}/ack/mallory/{aid}", b""),
                (f"{h.base}/ack/p2/{aid}", b"[]"),
                (f"{h.base}/ack/p2/NOPE", b""),
            ]:
                await asyncio.to_thread(app.publish, topic, payload)
        await h.wait_for(lambda: _n_rejected(h, 5))
        reasons = [r.reason for r in await h.running.store.list_rejected()]
        assert any("proves nothing" in r and f"{h.base}/ack/<person_id>/" in r for r in reasons)
        assert any(f"p1 is not among the recipients of alert {aid}" in r for r in reasons)
        assert any(f"mallory is not among the recipients of alert {aid}" in r for r in reasons)
        assert any("the payload is a JSON list" in r for r in reasons)
        assert any("ack by p2 refused: no alert NOPE" in r for r in reasons)
        assert (await h.running.store.get_alert(aid)).status.value == "open"


async def _n_rejected(h: Harness, n: int) -> bool:
    return len(await h.running.store.list_rejected()) >= n


async def test_rest_resolve_of_a_breach_needs_a_note(tmp_path: Path, broker: BrokerUnderTest):
    """POST resolve without a note is 422; with one it resolves and is published."""
    async with fake_time_gateway(tmp_path, broker, at_local("2026-11-23 03:00")) as (h, _):
        alert = await _breach(h)
        url = f"http://127.0.0.1:{h.running.http_port}/api/v1/alerts/{alert['id']}"
        auth = {"Authorization": f"Bearer {h.token}"}
        async with httpx.AsyncClient(headers=auth) as client:
            assert (await client.post(url + "/resolve", json={})).status_code == 422
            assert (await client.post(url + "/ack")).json()["status"] == "acknowledged"
            done = await client.post(url + "/resolve", json={"note": "送餐人员误开门，已核实"})
            assert done.status_code == 200
            assert done.json()["status"] == "resolved"
            detail = (await client.get(url)).json()
            actions = [e["action"] for e in detail["history"]]
            assert actions == ["raised", "acknowledged", "resolved"]
            seen = await _alerts_until(h, lambda i: i[1]["status"] == "resolved")
            assert seen[-1][1]["id"] == alert["id"]

            # A notice is delivered once the broker echoed it back and that was written down,
            # a moment after it arrived: every one of the alert's deliveries gets there.
            async def all_delivered() -> bool:
                deliveries = (await client.get(url)).json()["deliveries"]
                return {d["state"] for d in deliveries} == {"delivered"}

            await eventually(all_delivered, timeout=10)


async def test_roster_gap_raises_no_watcher_on_duty_to_the_supervisor(
    tmp_path: Path, broker: BrokerUnderTest
):
    """08:00-16:00 covers only h1: at 08:00 h2 is watched by nobody → supervisor told."""
    doc = site_doc()
    doc["shifts"][1]["households"] = ["h1"]
    start = at_local("2026-11-23 07:59")
    async with fake_time_gateway(tmp_path, broker, start, doc) as (h, clock):
        await advance(clock, 30)
        assert await _before_sentinel(h) == []
        await advance(clock, 31)
        seen = await _alerts_until(h, lambda i: i[0].endswith("/alerts/to/s1"))
        gap = seen[-1][1]
        assert gap["type"] == "no_watcher_on_duty"
        assert gap["household"] == "h2"
        assert gap["recipients"] == ["s1"]


async def test_shift_change_publishes_a_handover_to_the_incoming_watcher(
    tmp_path: Path, broker: BrokerUnderTest
):
    """At 08:00 w1 hands over to w2: open alerts and the night's events, on handover/to/w2."""
    import queue

    start = at_local("2026-11-23 07:58")
    async with fake_time_gateway(tmp_path, broker, start) as (h, clock):
        got: queue.Queue = queue.Queue()
        with h.link() as w2:
            w2.client.on_message = lambda _c, _u, m: got.put(json.loads(m.payload))
            await subscribed(w2, f"{h.base}/handover/to/w2")
            await advance(clock, 1)
            alert = await _breach(h)
            await advance(clock, 120)
            summary = await asyncio.to_thread(got.get, True, 5)
        assert summary["from"] == ["w1"]
        assert summary["to"] == ["w2"]
        assert summary["at"].startswith("2026-11-23T08:00:00")
        assert [a["id"] for a in summary["open_alerts"]] == [alert["id"]]
        assert {"household": "h2", "kind": "door", "count": 1} in summary["events"]


async def test_escalation_timer_survives_a_gateway_restart(tmp_path: Path, broker: BrokerUnderTest):
    """Raised before a restart, the breach still escalates on time after it."""
    from gateway.clock import FakeClock
    from tests.conftest import prepare, running_gateway, unique_settings

    start = at_local("2026-11-23 03:00")
    settings = unique_settings(tmp_path, broker)
    clock = FakeClock(start)
    token = await prepare(settings, site_doc(door_debounce_s=0), start)
    async with running_gateway(settings, broker, clock, token) as h:
        alert = await _breach(h)
    clock2 = FakeClock(start + timedelta(seconds=60))
    async with running_gateway(settings, broker, clock2, token) as h2:
        await advance(clock2, 30)
        assert (await h2.running.store.get_alert(alert["id"])).escalation_level == 0
        await advance(clock2, 35)
        seen = await _alerts_until(h2, lambda i: i[0].endswith("/alerts/to/s1"))
        assert seen[-1][1]["id"] == alert["id"]


async def test_mqtt_delivery_is_written_down_with_the_time_it_went_out(
    tmp_path: Path, broker: BrokerUnderTest
):
    """MQTT deliveries are written down in batches, a poll later: each keeps its own time."""
    start = at_local("2026-11-23 03:00")
    async with fake_time_gateway(tmp_path, broker, start) as (h, clock):
        alert = await _breach(h)
        await asyncio.sleep(0.1)  # the copies' PUBACKs, a moment after their receipt
        clock.advance(5)  # later than the breach's delivery, earlier than its escalation

        async def written_down() -> list[dict]:
            rows = await h.running.store.alert_deliveries(alert["id"])
            return [r for r in rows if r["channel"] == "mqtt" and r["state"] == "delivered"]

        async def all_three() -> bool:  # the all-alerts topic, the officer's, the watcher's
            return len(await written_down()) == 3

        await eventually(all_three, timeout=10)
        rows = await written_down()
    assert {r["delivered_at"] for r in rows} == {start}
