"""Symptoms and services from the resident's page and from staff: a symptom reaches the doctor
within a second, marked vulnerable where the resident is; a reading window without a check is
marked in the log; staff enter checks for residents without a phone, in their scope."""

from __future__ import annotations

import asyncio
import json
import queue
import time
from pathlib import Path
from typing import Any

from tests.conftest import (
    BrokerUnderTest,
    Harness,
    advance,
    at_local,
    fake_time_gateway,
    site_doc,
    subscribed,
)
from tests.integration.access_support import api, token_for
from tests.integration.resident_support import page_path, phone

MORNING = at_local("2026-11-23 07:30")  # in the 06:00-10:00 reading window


async def _to_doctor(
    h: Harness, path: str, body: dict[str, Any]
) -> tuple[float, dict[str, Any], dict[str, Any]]:
    """POST a check on the page; seconds until the doctor's topic carried the alert, the alert,
    and the page's answer."""
    got: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
    with h.link() as doctor:
        doctor.client.on_message = lambda _c, _u, m: got.put(
            (time.perf_counter(), json.loads(m.payload))
        )
        await subscribed(doctor, f"{h.base}/alerts/to/d1")
        async with phone(h) as resident:
            await resident.get(f"{path}/info")  # the connection is open, as a page's would be
            t0 = time.perf_counter()
            answer = await resident.post(f"{path}/symptoms", json=body)
            assert answer.status_code == 200, answer.text
            t1, alert = await asyncio.to_thread(got.get, True, 5)
    return t1 - t0, alert, answer.json()


async def test_a_symptom_on_the_page_reaches_the_doctor_within_a_second_marked_vulnerable(
    tmp_path: Path, broker: BrokerUnderTest
):
    """住户1 of h1 (张三, elderly alone) ticks 干咳 and 乏力: the doctor's topic carries a
    ``symptom`` alert within a second, marked elderly_alone, naming both in Chinese."""
    doc = site_doc(door_debounce_s=0)
    doc["households"][1]["residents"].append({"id": "r3", "name": "王五", "flags": ["dialysis"]})
    async with fake_time_gateway(tmp_path, broker, MORNING, doc) as (h, _clock):
        path = await page_path(h)
        took, alert, answer = await _to_doctor(
            h, path, {"resident": 1, "symptoms": ["dry_cough", "fatigue"]}
        )
        print(f"\nsymptom POST → doctor's alert topic: {took * 1000:.1f} ms")
        assert took < 1.0
        assert (alert["type"], alert["severity"], alert["household"]) == ("symptom", "high", "h1")
        assert alert["vulnerable"] == ["elderly_alone"]
        assert "干咳" in alert["message"] and "乏力" in alert["message"]
        assert (
            alert["recipients"][0] == "d1" and alert["recipients"][1] == "w1"
        )  # 07:30: w1's shift
        assert answer == {
            "resident": 1,
            "symptoms": ["dry_cough", "fatigue"],
            "at": "2026-11-23T07:30:00+08:00",
            "alerted": True,
        }
        # h2: 住户1 has no flag, 住户2 is on dialysis; each is marked as they are.
        h2 = await page_path(h, "h2")
        _, plain, _ = await _to_doctor(h, h2, {"resident": 1, "symptoms": ["fever"]})
        _, flagged, _ = await _to_doctor(h, h2, {"resident": 2, "symptoms": ["diarrhea"]})
        assert (plain["vulnerable"], flagged["vulnerable"]) == ([], ["dialysis"])
        assert "发热" in plain["message"] and "腹泻" in flagged["message"]
        checks = await h.running.store.symptom_checks(since=MORNING)
        assert [(c.resident_id, c.symptoms, c.by, c.via) for c in checks] == [
            ("r1", ("dry_cough", "fatigue"), "resident", "page"),
            ("r2", ("fever",), "resident", "page"),
            ("r3", ("diarrhea",), "resident", "page"),
        ]


async def test_a_reading_window_that_ends_without_a_check_is_marked_and_one_with_is_not(
    tmp_path: Path, broker: BrokerUnderTest
):
    """At 10:00 the morning window ends: h2's resident, who gave no check, gets a mark (no
    symptoms, by system); h1's, who said 无症状 on the page, raised nothing and gets none."""
    start = at_local("2026-11-23 09:50")
    async with fake_time_gateway(tmp_path, broker, start) as (h, clock):
        path = await page_path(h)
        async with phone(h) as resident:
            none = await resident.post(f"{path}/symptoms", json={"resident": 1, "symptoms": []})
        assert none.status_code == 200 and none.json()["alerted"] is False
        await advance(clock, 60)  # a first tick, 09:51: time is measured from there
        await advance(clock, 10 * 60)  # 10:01: the tick after the window's end
        store = h.running.store
        checks = await store.symptom_checks(since=start)
        assert [(c.household_id, c.resident_id, c.symptoms, c.by) for c in checks] == [
            ("h1", "r1", (), "resident"),
            ("h2", "r2", None, "system"),
        ]
        mark = checks[1]
        assert mark.window_start == at_local("2026-11-23 06:00")
        assert mark.at == at_local("2026-11-23 10:00")
        assert checks[0].window_start == at_local("2026-11-23 06:00")
        assert await store.list_alerts(type="symptom") == []


async def test_staff_enter_a_check_for_a_resident_without_a_phone_within_their_scope(
    tmp_path: Path, broker: BrokerUnderTest
):
    """A watcher's fever for r2 answers the check and the alert; a doctor's 无症状 raises
    nothing; a technician, an officer or another's household is 403; a bad body is 4xx."""
    async with fake_time_gateway(tmp_path, broker, MORNING) as (h, _clock):
        w2, d1, t1, p1 = [
            await token_for(h, n, r)
            for n, r in (
                ("w2", "watcher"),
                ("d1", "doctor"),
                ("t1", "technician"),
                ("p1", "officer"),
            )
        ]
        url = "/api/v1/households/{}/symptoms"
        async with api(h, w2) as watcher:
            got = await watcher.post(
                url.format("h2"), json={"resident": "r2", "symptoms": ["fever"]}
            )
            assert got.status_code == 200, got.text
            body = got.json()
            assert body["check"] == {
                "household": "h2",
                "resident": "r2",
                "at": "2026-11-23T07:30:00.000+08:00",
                "symptoms": ["fever"],
                "by": "w2",
                "via": "rest",
                "window_start": "2026-11-23T06:00:00.000+08:00",
            }
            assert body["alert"]["type"] == "symptom" and body["alert"]["vulnerable"] == []
            assert "李四" in body["alert"]["message"] and "发热" in body["alert"]["message"]
            for bad, code in (
                ({"resident": "r9", "symptoms": []}, 404),
                ({"resident": "r2", "symptoms": ["hiccups"]}, 422),
                ({"resident": "r2", "symptoms": [], "extra": 1}, 422),
                ({"resident": "r2"}, 422),
            ):
                said = await watcher.post(url.format("h2"), json=bad)
                assert said.status_code == code, (bad, said.text)
            unknown = await watcher.post(url.format("h9"), json={"resident": "r2", "symptoms": []})
            assert unknown.status_code == 404
        async with api(h, d1) as doctor:
            got = await doctor.post(url.format("h1"), json={"resident": "r1", "symptoms": []})
            assert got.status_code == 200 and got.json()["alert"] is None
        for token in (t1, p1):
            async with api(h, token) as other:
                refused = await other.post(
                    url.format("h1"), json={"resident": "r1", "symptoms": []}
                )
                assert refused.status_code == 403
        checks = await h.running.store.symptom_checks(since=MORNING)
        assert [(c.resident_id, c.by, c.via) for c in checks] == [
            ("r2", "w2", "rest"),
            ("r1", "d1", "rest"),
        ]
        audit = await h.running.store.list_audit(action="symptoms", limit=10)
        assert {(a.actor, a.role, a.household) for a in audit} == {
            ("w2", "watcher", "h2"),
            ("d1", "doctor", "h1"),
        }


async def test_who_may_read_and_rotate_a_household_s_page_link(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Officer, watcher, supervisor and admin read the link (audited); a doctor or technician
    may not, nor an officer another's household; a doctor or officer cannot rotate (403), a
    watcher or supervisor can."""
    async with fake_time_gateway(tmp_path, broker, MORNING) as (h, _clock):
        tokens = {
            n: await token_for(h, n, r)
            for n, r in (
                ("p1", "officer"),
                ("p2", "officer"),
                ("d1", "doctor"),
                ("t1", "technician"),
                ("w1", "watcher"),
                ("s1", "supervisor"),
            )
        }
        link = "/api/v1/households/h1/link"
        seen = {}
        for name, token in tokens.items():
            async with api(h, token) as staff:
                got = await staff.get(link)
                seen[name] = got.status_code
                if got.status_code == 200:
                    assert got.json()["generation"] == 1
                    assert got.json()["url"] == (await staff.get(link)).json()["url"]
                if name in ("d1", "p1", "p2", "t1"):
                    assert (await staff.post(f"{link}/rotate")).status_code == 403, name
        assert seen == {"p1": 200, "p2": 403, "d1": 403, "t1": 403, "w1": 200, "s1": 200}
        for name, generation in (("w1", 2), ("s1", 3)):
            async with api(h, tokens[name]) as staff:
                rotated = await staff.post(f"{link}/rotate")
            assert rotated.status_code == 200 and rotated.json()["generation"] == generation
        async with api(h, h.token) as admin:
            now = (await admin.get(link)).json()
            assert now == rotated.json()
            assert (await admin.get("/api/v1/households/h9/link")).status_code == 404
        reads = await h.running.store.list_audit(action="read_link", limit=20)
        assert {a.actor for a in reads} == {"p1", "w1", "s1", "admin"}
        assert [a.actor for a in await h.running.store.list_audit(action="link_made")] == ["p1"]
        rotations = await h.running.store.list_audit(action="link_rotated")
        assert sorted(a.actor for a in rotations) == ["s1", "w1"]


async def test_a_service_request_from_the_page_is_a_task_for_the_watcher(
    tmp_path: Path, broker: BrokerUnderTest
):
    """代购生活用品 with a note is stored as an open request, audited as the resident's."""
    async with fake_time_gateway(tmp_path, broker, MORNING) as (h, _clock):
        path = await page_path(h)
        async with phone(h) as resident:
            got = await resident.post(
                f"{path}/services", json={"kind": "supplies", "note": "大米一袋"}
            )
        assert got.status_code == 200, got.text
        assert got.json() == {"kind": "supplies", "requested_at": "2026-11-23T07:30:00+08:00"}
        [req] = await h.running.store.service_requests(households=["h1"], open_only=True)
        assert (req.kind, req.note, req.via, req.done_at) == ("supplies", "大米一袋", "page", None)
        [entry] = await h.running.store.list_audit(action="service_request", limit=5)
        assert (entry.actor, entry.via, entry.detail) == ("resident", "page", "supplies")
