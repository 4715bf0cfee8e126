"""The resident's page over the real broker and HTTP: an announced opening is recorded, not
alerted, and shown on the console; one after its window breaches; a wrong or rotated link is 404
and the page never names anyone."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import websockets

from simulators.door import DoorSensor
from tests.conftest import BrokerUnderTest, Harness, advance, at_local, fake_time_gateway, site_doc
from tests.integration.access_support import api, token_for
from tests.integration.resident_support import NAMES, page_path, phone

NIGHT = at_local("2026-11-23 03:00")  # no visit window: any opening is a breach unless announced


async def _care_item(ws: Any, what: str) -> dict[str, Any]:
    """The next ``care`` item of that kind on the stream (alerts and events skipped)."""
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), 5))
        if msg["kind"] == "care" and msg["what"] == what:
            return dict(msg)


async def _until_ready(ws: Any) -> None:
    while json.loads(await asyncio.wait_for(ws.recv(), 5))["kind"] != "ready":
        pass


async def _door_events(h: Harness, n: int) -> list[str]:
    """Wait until h1 has ``n`` door events stored; their reports, oldest first."""
    store = h.running.store

    async def stored() -> bool:
        return len(await store.household_events("h1", kind="door")) >= n

    await h.wait_for(stored)
    return [e.report or "" for e in reversed(await store.household_events("h1", kind="door"))]


async def test_an_announced_opening_is_recorded_not_alerted_and_a_later_one_breaches(
    tmp_path: Path, broker: BrokerUnderTest
):
    """POST /r/<secret> opens a window: the door opening in it is recorded as prereported and
    shown on the console stream, with no alert; an opening after the window ends breaches."""
    async with fake_time_gateway(tmp_path, broker, NIGHT) as (h, clock):
        path = await page_path(h)
        url = f"ws://127.0.0.1:{h.running.http_port}/api/v1/stream"
        auth = {"Authorization": f"Bearer {h.token}"}
        async with websockets.connect(url, additional_headers=auth) as ws, phone(h) as resident:
            await _until_ready(ws)
            said = await resident.post(path, json={"reason": "garbage"})
            assert said.status_code == 200, said.text
            body = said.json()
            assert body["start"] == "2026-11-23T03:00:00+08:00"
            assert body["end"] == "2026-11-23T03:10:00+08:00"
            assert (body["until"], body["remaining"], body["reason"]) == ("03:10", 5, "garbage")
            shown = await _care_item(ws, "prereport")
            assert shown["household"] == "h1"
            assert shown["data"]["reason"] == "garbage"
            assert shown["data"]["end"].startswith("2026-11-22T19:10:00")  # UTC of 03:10 local
            info = (await resident.get(f"{path}/info")).json()
            assert (info["open_until"], info["remaining"]) == ("03:10", 5)

            with h.link() as link:
                sensor = DoorSensor(link, "h1/front door", "zigbee2mqtt", z2m_base=h.z2m)
                await asyncio.to_thread(sensor.open)
                await advance(clock, 60)
                await asyncio.to_thread(sensor.close)
                # The close came after the open: once it is stored, so is any alert of the open.
                reports = await _door_events(h, 2)
                assert reports == ["change/prereported", "change"]
                assert await h.running.store.list_alerts() == []
                async with api(h, h.token) as admin:
                    events = (await admin.get("/api/v1/households/h1/events?kind=door")).json()
                assert [e["report"] for e in events] == ["change", "change/prereported"]

                await advance(clock, 10 * 60)  # 03:11: the window has ended
                await asyncio.to_thread(sensor.open)
                while True:
                    _, alert = await h.next_alert()
                    if alert["type"] == "door_breach":
                        break
            assert alert["household"] == "h1"
            assert "非授权时段" in alert["message"]
            assert (await _door_events(h, 3))[-1] == "change/breach"
        audit = await h.running.store.list_audit(action="prereport", limit=10)
        assert [(a.actor, a.via, a.household, a.detail) for a in audit] == [
            ("resident", "page", "h1", "garbage")
        ]


async def test_a_wrong_or_rotated_link_is_404_with_one_body_and_a_new_one_works(
    tmp_path: Path, broker: BrokerUnderTest
):
    """A made-up, a too long and a rotated secret answer the same 404; the new one works."""
    async with fake_time_gateway(tmp_path, broker, NIGHT) as (h, _clock):
        old = await page_path(h)
        watcher = await token_for(h, "w1", "watcher")
        async with api(h, watcher) as staff:
            rotated = await staff.post("/api/v1/households/h1/link/rotate")
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["generation"] == 2
        new = "/" + rotated.json()["url"].split("/", 3)[3]
        assert new != old and await page_path(h) == new
        async with phone(h) as resident:
            pages = [await resident.get(p) for p in (old, "/r/abc", "/r/" + "x" * 300)]
            infos = [await resident.get(f"{p}/info") for p in (old, "/r/abc")]
            posts = [await resident.post(p, json={"reason": "garbage"}) for p in (old, "/r/abc")]
            assert {r.status_code for r in pages + infos + posts} == {404}
            assert len({r.text for r in pages}) == 1 and "链接无效" in pages[0].text
            assert len({r.text for r in infos + posts}) == 1
            assert pages[0].headers["cache-control"] == "no-store"
            assert (await resident.get(new)).status_code == 200
            assert (await resident.get(f"{new}/info")).status_code == 200
            assert (await resident.post(old, json={"reason": "garbage"})).status_code == 404
        audit = await h.running.store.list_audit(action="link_rotated", limit=10)
        assert [(a.actor, a.household) for a in audit] == [("w1", "h1")]


async def test_the_page_and_its_info_name_nobody_and_nothing_of_the_address(
    tmp_path: Path, broker: BrokerUnderTest
):
    """The page's HTML, script, style and /info hold no name, no address, no resident id: only
    the number of residents and the choices."""
    doc = site_doc(door_debounce_s=0, prereports_per_day=4)
    doc["households"][1]["residents"].append({"id": "r3", "name": "王五", "phone": "+861390000"})
    async with fake_time_gateway(tmp_path, broker, NIGHT, doc) as (h, _clock):
        path = await page_path(h, "h2")
        async with phone(h) as resident:
            page = await resident.get(path)
            info = await resident.get(f"{path}/info")
            files = [await resident.get(f"/static/resident.{x}") for x in ("js", "css")]
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and 'src="/static/resident.js"' in page.text
    body = info.json()
    assert body["residents"] == 2
    assert body["isolated"] is True
    assert (body["per_day"], body["remaining"], body["minutes"]) == (4, 4, 10)
    assert body["open_until"] is None and body["reading_window"] is None  # 03:00
    assert [c["key"] for c in body["symptoms"]] == [
        "fever", "dry_cough", "fatigue", "sore_throat", "smell_taste_loss", "diarrhea",
    ]  # fmt: skip
    assert {c["key"] for c in body["reasons"]} == {"garbage", "delivery", "medical", "other"}
    assert "hotline" in body  # the site's 心理援助热线, when it has one
    everything = "".join(r.text for r in (page, info, *files))
    for secret in (*NAMES, "王五", "幸福小区", "3栋", "502", "1390000"):
        assert secret not in everything, secret
    for key in ('"h2"', '"r2"', '"r3"', "therm", "door-h2"):
        assert key not in info.text, key
