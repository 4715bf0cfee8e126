"""Visits entered at the console, the check-in visit due every three days, and the residents'
service requests as the watchers' tasks, over HTTP on a running gateway."""

from __future__ import annotations

import asyncio
from pathlib import Path

from simulators.door import DoorSensor
from tests.conftest import BrokerUnderTest, Harness
from tests.integration.care_support import alerts_until, care_gateway


async def _open_door(h: Harness, household: str) -> None:
    with h.link() as link:
        sensor = (
            DoorSensor(link, "h1/front door", "zigbee2mqtt", z2m_base=h.z2m)
            if household == "h1"
            else DoorSensor(link, "door-h2", "native", base_topic=h.base)
        )
        await asyncio.to_thread(sensor.open)


async def test_a_visit_entered_at_the_console_authorizes_the_door_opening_in_it(
    tmp_path: Path, broker: BrokerUnderTest
):
    """w1 enters a delivery 02:55–03:30 (site time, no offset) escorted by w2: h1's door opening
    at 03:00 is recorded as an authorized visit and raises nothing, while h2's, without a
    visit, is a breach (the sentinel); the visit is listed beside the site file's."""
    async with care_gateway(tmp_path, broker) as (h, _clock, c):
        body = {"start": "2026-11-23T02:55", "end": "2026-11-23T03:30", "reason": "delivery"}
        added = await c["w1"].post("/api/v1/households/h1/visits", json=body | {"escort": "w2"})
        assert added.status_code == 200, added.text
        visit = added.json()
        assert visit["start"] == "2026-11-23T02:55:00+08:00"
        assert visit["end"] == "2026-11-23T03:30:00+08:00"
        assert (visit["escort"], visit["escort_name"], visit["by"]) == ("w2", "刘芳", "w1")
        assert (visit["source"], visit["reason_label"]) == ("console", "送物资")

        await _open_door(h, "h1")
        await _open_door(h, "h2")
        seen = await alerts_until(h, "h2", "door_breach")
        assert [a["household"] for a in seen] == ["h2"]

        doors = (await c["w1"].get("/api/v1/households/h1/events?kind=door")).json()
        assert [e["report"] for e in doors] == ["change/authorized_visit"]

        listed = (await c["p1"].get("/api/v1/households/h1/visits")).json()
        assert [(v["source"], v["start"]) for v in listed["visits"]] == [
            ("site", "2026-11-23T10:00:00+08:00"),
            ("console", "2026-11-23T02:55:00+08:00"),
        ]
        assert listed["prereport_count"] == 0
        assert {"w1", "w2", "w3", "p1", "d1", "t1", "s1"} <= {e["id"] for e in listed["escorts"]}
        audit = (await c["admin"].get("/api/v1/audit?household=h1")).json()
        did = {(a["action"], a["actor"], a["via"]) for a in audit}
        assert {("visit", "w1", "rest"), ("read_visits", "p1", "rest")} <= did


async def test_visits_the_desk_or_the_scope_refuses(tmp_path: Path, broker: BrokerUnderTest):
    """Sampling without an escort, an unknown escort or reason, an end before the start and a
    visit of five hours are 422; a technician may not enter one (403), nor h2's doctor read or
    enter one for h1 (403); an unknown household is 404."""
    async with care_gateway(tmp_path, broker) as (_h, _clock, c):
        url = "/api/v1/households/h1/visits"
        ok = {"start": "2026-11-23T04:00", "end": "2026-11-23T04:20", "reason": "delivery"}
        for bad in (
            ok | {"reason": "sampling"},
            ok | {"escort": "x9"},
            ok | {"reason": "party"},
            ok | {"end": "2026-11-23T03:50"},
            ok | {"end": "2026-11-23T09:00"},
            {"start": "later", "end": "2026-11-23T04:20", "reason": "delivery"},
        ):
            answer = await c["w1"].post(url, json=bad)
            assert answer.status_code == 422, (bad, answer.text)
        escorted = await c["d1"].post(url, json=ok | {"reason": "sampling", "escort": "w2"})
        assert escorted.status_code == 200, escorted.text
        assert (await c["t1"].post(url, json=ok)).status_code == 403
        assert (await c["d2"].post(url, json=ok)).status_code == 403
        assert (await c["d2"].get(url)).status_code == 403
        assert (await c["w1"].get("/api/v1/households/h9/visits")).status_code == 404
        listed = (await c["d1"].get(url)).json()
        assert [v["reason"] for v in listed["visits"] if v["source"] == "console"] == ["sampling"]


async def test_check_in_visits_due_every_three_days_and_overdue_when_missed(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Isolated since 11-20 with no check-in, both households are overdue at 11-23 03:00; a
    check-in starting now makes h1 due three days on; one that has not started yet does not
    count; an officer sees only his household."""
    async with care_gateway(tmp_path, broker) as (_h, _clock, c):
        due = (await c["admin"].get("/api/v1/visits/due")).json()
        assert [(d["household"], d["overdue"]) for d in due] == [("h1", True), ("h2", True)]
        assert due[0]["due"] == "2026-11-23T00:00:00+08:00"
        assert due[0]["last"] is None and due[0]["address"] == "幸福小区3栋2单元501"

        now = {"start": "2026-11-23T03:00", "end": "2026-11-23T03:20", "reason": "checkin"}
        later = now | {"start": "2026-11-23T04:00", "end": "2026-11-23T04:20"}
        assert (await c["w1"].post("/api/v1/households/h1/visits", json=now)).status_code == 200
        assert (await c["w1"].post("/api/v1/households/h2/visits", json=later)).status_code == 200
        due = (await c["admin"].get("/api/v1/visits/due")).json()
        assert [(d["household"], d["overdue"]) for d in due] == [("h2", True), ("h1", False)]
        assert due[1]["last"] == "2026-11-23T03:00:00+08:00"
        assert due[1]["due"] == "2026-11-26T03:00:00+08:00"
        mine = (await c["p1"].get("/api/v1/visits/due")).json()
        assert [d["household"] for d in mine] == ["h1"]
        page = (await c["p1"].get("/api/v1/households/h1/visits")).json()
        assert page["checkin"] == due[1]


async def test_a_residents_service_request_is_a_task_a_watcher_marks_done(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Requests of h1 and h2 are listed newest first with their addresses to the watcher on
    duty, each to its own household's staff; an officer may not mark one done; the watcher
    does (who and when), a second time is 409, and the open list no longer has it."""
    async with care_gateway(tmp_path, broker) as (h, clock, c):
        desk = h.running.care
        assert desk is not None
        first = await desk.request_service("h1", "supplies", "米、油")
        clock.advance(60)
        second = await desk.request_service("h2", "garbage", None)
        tasks = (await c["w1"].get("/api/v1/services?open=true")).json()
        assert [(t["id"], t["household"]) for t in tasks] == [(second.id, "h2"), (first.id, "h1")]
        task = tasks[1]
        assert (task["address"], task["kind_label"], task["note"]) == (
            "幸福小区3栋2单元501",
            "代购生活用品",
            "米、油",
        )
        assert task["requested_at"] == "2026-11-23T03:00:00+08:00"
        assert "w1" in task["watchers"] and task["done_at"] is None
        assert [t["household"] for t in (await c["p1"].get("/api/v1/services")).json()] == ["h1"]
        assert [t["household"] for t in (await c["d2"].get("/api/v1/services")).json()] == ["h2"]

        url = f"/api/v1/services/{first.id}/done"
        assert (await c["p1"].post(url)).status_code == 403
        assert (await c["d2"].post(url)).status_code == 403
        done = await c["w1"].post(url)
        assert done.status_code == 200, done.text
        assert (done.json()["done_by"], done.json()["done_by_name"]) == ("w1", "李伟")
        assert done.json()["done_at"] == "2026-11-23T03:01:00+08:00"
        assert (await c["w1"].post(url)).status_code == 409
        assert (await c["w1"].post("/api/v1/services/nope/done")).status_code == 404
        still = (await c["w1"].get("/api/v1/services?open=true")).json()
        assert [t["id"] for t in still] == [second.id]
        every = (await c["w1"].get("/api/v1/services")).json()
        assert [t["done_by"] for t in every] == [None, "w1"]
        audit = (await c["admin"].get("/api/v1/audit?household=h1&action=service_done")).json()
        assert [(a["actor"], a["via"], a["target"]) for a in audit] == [("w1", "rest", first.id)]
