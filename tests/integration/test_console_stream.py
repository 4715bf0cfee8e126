"""The console's live stream: catching up on what was missed, then live, without a gap and
without going back to an older copy of an alert."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from gateway.alerting.operations import ANSWER_WITHIN_S
from simulators.door import DoorSensor
from tests.conftest import Harness


def _url(gateway: Harness, query: str = "") -> str:
    return f"ws://127.0.0.1:{gateway.running.http_port}/api/v1/stream{query}"


def _ws(gateway: Harness, query: str = "", token: str | None = None) -> Any:
    """A WebSocket to the stream with a bearer header (no token in the URL)."""
    auth = {"Authorization": f"Bearer {token or gateway.token}"}
    return websockets.connect(_url(gateway, query), additional_headers=auth)


async def _until_ready(ws: Any) -> list[dict[str, Any]]:
    """Every message up to ``ready`` (not included)."""
    got = []
    while (msg := json.loads(await asyncio.wait_for(ws.recv(), 5)))["kind"] != "ready":
        got.append(msg)
    return got


async def _next_alert(ws: Any) -> dict[str, Any]:
    """The next alert message's AlertOut, skipping device events."""
    while (msg := json.loads(await asyncio.wait_for(ws.recv(), 5)))["kind"] != "alert":
        pass
    return dict(msg["alert"])


@pytest.fixture
async def client(gateway: Harness) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's HTTP client on the running gateway's API."""
    url = f"http://127.0.0.1:{gateway.running.http_port}"
    headers = {"Authorization": f"Bearer {gateway.token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as c:
        yield c


async def _open_door(gateway: Harness, household: str) -> None:
    with gateway.link() as link:
        if household == "h2":
            sensor = DoorSensor(link, "door-h2", "native", base_topic=gateway.base)
        else:
            sensor = DoorSensor(link, "h1/front door", "zigbee2mqtt", z2m_base=gateway.z2m)
        await asyncio.to_thread(sensor.open)


async def test_a_console_that_reconnects_gets_what_it_missed_oldest_first(
    gateway: Harness, client: httpx.AsyncClient
):
    """Cut off after h2's breach: its acknowledgement and h1's breach come on reconnecting."""
    async with _ws(gateway) as ws:
        assert await _until_ready(ws) == []
        await _open_door(gateway, "h2")
        first = await _next_alert(ws)
    assert (first["type"], first["household"], first["status"]) == ("door_breach", "h2", "open")
    # Disconnected: someone acknowledges h2's breach, then h1's door opens.
    acked = await client.post(f"/api/v1/alerts/{first['id']}/ack")
    assert acked.status_code == 200, acked.text
    await _open_door(gateway, "h1")
    await gateway.wait_for(lambda: _has_breach(client, "h1"))
    async with _ws(gateway, f"?after={first['id']}") as ws:
        missed = [m["alert"] for m in await _until_ready(ws)]
    assert [(a["household"], a["status"]) for a in missed] == [
        ("h2", "acknowledged"),
        ("h1", "open"),
    ]
    assert missed[0]["acked_by"] == "admin" and missed[0]["acked_at"] is not None
    assert missed[0]["updated_at"] <= missed[1]["updated_at"]


async def _has_breach(client: httpx.AsyncClient, household: str) -> bool:
    found = await client.get(f"/api/v1/alerts?household={household}&type=door_breach")
    return bool(found.json())


async def test_a_first_message_names_the_last_alert_seen(
    gateway: Harness, client: httpx.AsyncClient
):
    """``{"after": id}`` as the first message works as ``?after=``; a resolved alert comes too."""
    await _open_door(gateway, "h2")
    await gateway.wait_for(lambda: _has_breach(client, "h2"))
    [breach] = (await client.get("/api/v1/alerts")).json()
    done = await client.post(f"/api/v1/alerts/{breach['id']}/resolve", json={"note": "ok"})
    assert done.status_code == 200
    async with _ws(gateway) as ws:
        await ws.send(json.dumps({"after": breach["id"]}))
        [msg] = await _until_ready(ws)
    assert (msg["alert"]["id"], msg["alert"]["status"]) == (breach["id"], "resolved")
    assert msg["alert"]["resolved_by"] == "admin" and msg["alert"]["note"] == "ok"
    # Without after, a resolved alert is not news: only unresolved ones are sent.
    async with _ws(gateway) as ws:
        assert await _until_ready(ws) == []


@pytest.mark.parametrize("commit_first", [True, False], ids=["before-read", "after-read"])
async def test_a_change_committed_while_catching_up_is_sent_once_and_never_undone(
    gateway: Harness, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, commit_first: bool
):
    """An acknowledgement committed around the catch-up's read reaches the console exactly once,
    and the console never gets the older, open copy after the acknowledged one."""
    await _open_door(gateway, "h2")
    await gateway.wait_for(lambda: _has_breach(client, "h2"))
    [breach] = (await client.get("/api/v1/alerts")).json()
    store = gateway.running.store
    read = store.list_alerts
    ops = gateway.running.ops

    async def racing(**kw: Any) -> Any:
        monkeypatch.setattr(store, "list_alerts", read)  # once
        if commit_first:
            await ops.ack(breach["id"], "w1", ANSWER_WITHIN_S, via="rest")
            return await read(**kw)
        found = await read(**kw)
        await ops.ack(breach["id"], "w1", ANSWER_WITHIN_S, via="rest")
        return found

    monkeypatch.setattr(store, "list_alerts", racing)
    async with _ws(gateway) as ws:
        caught = [m["alert"]["status"] for m in await _until_ready(ws)]
        # A later sentinel: h1's breach. Everything about h2 before it has arrived by then.
        await _open_door(gateway, "h1")
        live = []
        while (alert := await _next_alert(ws))["household"] != "h1":
            live.append(alert["status"])
    statuses = caught + live
    assert statuses == (["acknowledged"] if commit_first else ["open", "acknowledged"])


async def test_an_officer_sees_only_their_households_alerts_on_the_stream(
    gateway: Harness,
):
    """p2 (h2's officer) catches up on h2's breach but not h1's, and gets only h2's live."""
    now = gateway.running.pipeline.clock.now()
    await gateway.running.store.add_user("p2", "officer", "p2-token", now)
    url = f"http://127.0.0.1:{gateway.running.http_port}"
    async with httpx.AsyncClient(
        base_url=url, headers={"Authorization": f"Bearer {gateway.token}"}
    ) as client:
        for household in ("h1", "h2"):
            await _open_door(gateway, household)
            await gateway.wait_for(lambda h=household: _has_breach(client, h))
    async with _ws(gateway, token=gateway.token) as admin:
        assert {m["alert"]["household"] for m in await _until_ready(admin)} == {"h1", "h2"}
    async with _ws(gateway, token="p2-token") as p2:
        assert [m["alert"]["household"] for m in await _until_ready(p2)] == ["h2"]
        with gateway.link() as link:
            await asyncio.to_thread(
                DoorSensor(link, "h1/front door", "zigbee2mqtt", z2m_base=gateway.z2m).close
            )
            # A later sentinel p2 may see: h2's heartbeat. It must be the first thing p2 gets.
            await asyncio.to_thread(
                DoorSensor(link, "door-h2", "native", base_topic=gateway.base).heartbeat
            )
        seen = json.loads(await asyncio.wait_for(p2.recv(), 5))
        assert (seen["kind"], seen["household"]) == ("event", "h2"), seen
