"""Shift handovers kept and accepted by name; one nobody accepts in ten minutes escalates."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from simulators.door import DoorSensor
from tests.conftest import BrokerUnderTest, advance, at_local, fake_time_gateway, site_doc


@asynccontextmanager
async def _night_breach_then_handover(
    tmp_path: Path, broker: BrokerUnderTest, acked_by_w1: bool = False
) -> AsyncIterator[tuple[Any, dict[str, httpx.AsyncClient], str]]:
    """h2's breach at 07:59 under w1, then the 08:00 handover to w2; clients per user."""
    # The breach's own ack timeout is an hour: only the handover can escalate it here.
    doc = site_doc(door_debounce_s=0, ack_timeout_s=3600)
    async with fake_time_gateway(tmp_path, broker, at_local("2026-11-23 07:58"), doc) as (h, clock):
        for name, role in (("w2", "watcher"), ("w3", "watcher"), ("p2", "officer")):
            await h.running.store.add_user(name, role, f"{name}-token", clock.now())
        url = f"http://127.0.0.1:{h.running.http_port}"
        clients = {
            name: httpx.AsyncClient(
                base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30
            )
            for name, token in (
                ("admin", h.token),
                ("w2", "w2-token"),
                ("w3", "w3-token"),
                ("p2", "p2-token"),
            )
        }
        try:
            assert (await clients["admin"].get("/api/v1/handover")).status_code == 404
            await advance(clock, 1)
            with h.link() as link:
                door = DoorSensor(link, "door-h2", "native", base_topic=h.base)
                await asyncio.to_thread(door.open)
                await asyncio.to_thread(door.close)  # not left open: the breach alone
            while (alert := (await h.next_alert())[1])["type"] != "door_breach":
                pass
            if acked_by_w1:
                await h.running.ops.ack(alert["id"], "w1", via="mqtt")
            await advance(clock, 120)  # 08:00:01
            yield clock, clients, alert["id"]
        finally:
            for c in clients.values():
                await c.aclose()


async def test_the_incoming_watcher_accepts_the_handover_by_name(
    tmp_path: Path, broker: BrokerUnderTest
):
    """w2 sees w1's open breach handed over and accepts it: recorded on the handover and in the
    alert's history; w3 (not on duty) and the officer may not; accepted, nothing escalates."""
    async with _night_breach_then_handover(tmp_path, broker) as (clock, clients, alert_id):
        got = (await clients["w2"].get("/api/v1/handover")).json()
        assert (got["from"], got["to"]) == (["w1"], ["w2"])
        assert got["at"].startswith("2026-11-23T08:00:00")
        assert [a["id"] for a in got["open_alerts"]] == [alert_id], got["open_alerts"]
        assert (got["accepted"], got["escalated_at"]) == ([], None)
        for name in ("w3", "p2"):
            refused = await clients[name].post(f"/api/v1/handover/{got['id']}/accept")
            assert refused.status_code == 403, name
        done = await clients["w2"].post(f"/api/v1/handover/{got['id']}/accept")
        assert done.status_code == 200, done.text
        [accepted] = done.json()["accepted"]
        assert accepted["by"] == "w2" and accepted["at"].startswith("2026-11-23T08:00")
        history = (await clients["admin"].get(f"/api/v1/alerts/{alert_id}")).json()["history"]
        assert ("accepted", "w2") in [(e["action"], e["by"]) for e in history]
        log = await clients["admin"].get("/api/v1/audit", params={"action": "handover_accept"})
        assert [(e["actor"], e["target"]) for e in log.json()] == [("w2", got["id"])]
        await advance(clock, 660)
        alert = (await clients["admin"].get(f"/api/v1/alerts/{alert_id}")).json()
        assert (alert["status"], alert["escalation_level"]) == ("open", 0)
        assert (await clients["admin"].get("/api/v1/handover")).json()["escalated_at"] is None
        unknown = await clients["admin"].post("/api/v1/handover/nope/accept")
        assert unknown.status_code == 404


async def test_a_handover_nobody_accepts_in_ten_minutes_escalates_its_open_alerts(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Unaccepted at 08:08:51 the breach is as it was; at 08:10:06 it went up to the supervisor,
    its history says why, and the handover says when."""
    async with _night_breach_then_handover(tmp_path, broker) as (clock, clients, alert_id):
        admin = clients["admin"]
        await advance(clock, 530)
        alert = (await admin.get(f"/api/v1/alerts/{alert_id}")).json()
        assert (alert["status"], alert["escalation_level"]) == ("open", 0)
        await advance(clock, 75)
        alert = (await admin.get(f"/api/v1/alerts/{alert_id}")).json()
        assert alert["status"] == "escalated" and "s1" in alert["recipients"]
        [why] = [e["note"] for e in alert["history"] if e["action"] == "escalated"]
        assert "not accepted" in why
        handover = (await admin.get("/api/v1/handover")).json()
        assert handover["escalated_at"].startswith("2026-11-23T08:10")
        # Once only: ten minutes later it has not gone up again for the same handover.
        await advance(clock, 600)
        again = (await admin.get(f"/api/v1/alerts/{alert_id}")).json()
        assert again["escalation_level"] == alert["escalation_level"]


async def test_the_roster_says_who_is_on_now_and_next_and_the_gaps(
    tmp_path: Path, broker: BrokerUnderTest
):
    """At 10:00 w2 is on until 16:00, w3 next; no gaps in the test community's roster."""
    async with fake_time_gateway(tmp_path, broker, at_local("2026-11-23 10:00")) as (h, _clock):
        url = f"http://127.0.0.1:{h.running.http_port}"
        headers = {"Authorization": f"Bearer {h.token}"}
        async with httpx.AsyncClient(base_url=url, headers=headers) as c:
            got = (await c.get("/api/v1/roster")).json()
    assert got["now"] == [
        {
            "watcher": "w2",
            "name": "刘芳",
            "households": ["h1", "h2"],
            "until": "2026-11-23T16:00:00+08:00",
        }
    ]
    assert got["next"] == [
        {"watcher": "w3", "name": "周强", "households": "all", "from": "2026-11-23T16:00:00+08:00"}
    ]
    assert got["gaps"] == []


async def test_an_acknowledged_alert_is_handed_over_too_but_does_not_escalate(
    tmp_path: Path, broker: BrokerUnderTest
):
    """w1 acknowledged the breach but did not resolve it: w2 takes it over, acknowledged; with
    nobody accepting, it stays acknowledged (it has someone on it)."""
    handover = _night_breach_then_handover(tmp_path, broker, acked_by_w1=True)
    async with handover as (clock, clients, alert_id):
        got = (await clients["w2"].get("/api/v1/handover")).json()
        assert [(a["id"], a["status"], a["acked_by"]) for a in got["open_alerts"]] == [
            (alert_id, "acknowledged", "w1")
        ]
        await advance(clock, 605)
        alert = (await clients["admin"].get(f"/api/v1/alerts/{alert_id}")).json()
        assert (alert["status"], alert["escalation_level"]) == ("acknowledged", 0)
        assert (await clients["admin"].get("/api/v1/handover")).json()["escalated_at"]
