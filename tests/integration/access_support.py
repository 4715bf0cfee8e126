"""What the access tests share: a community with a hostile address, a phone and group channels,
a gateway on fake time at 03:00, users, and HTTP clients that log in like the console."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from simulators.door import DoorSensor
from tests.conftest import BrokerUnderTest, Harness, at_local, fake_time_gateway, site_doc

HOSTILE_ADDRESS = '幸福小区<script>alert("x")</script>501'
WEBHOOK_KEY = "0b5c1f0e9d8a7b6c5d4e3f2a"
START = at_local("2026-11-23 03:00")  # w1 and w3 on duty for every household; no visit window


def access_doc() -> dict[str, Any]:
    """The test community, with h1's hostile address, its resident's phone, w2 watching h1
    only, a WeCom bot whose key is in its URL, and SMS."""
    doc = site_doc(door_debounce_s=0)
    h1 = doc["households"][0]
    h1["address"] = HOSTILE_ADDRESS
    h1["residents"][0]["phone"] = "+8613912345678"
    doc["shifts"][1]["households"] = ["h1"]
    doc["channels"] = [
        {
            "id": "wecom-group",
            "kind": "wecom",
            # A closed port: the notice stays in the outbox, which is all these tests read.
            "url": f"http://127.0.0.1:9/cgi-bin/webhook/send?key={WEBHOOK_KEY}",
        },
        {"id": "sms", "kind": "sms"},
    ]
    return doc


@contextlib.asynccontextmanager
async def access_gateway(
    tmp_path: Path, broker: BrokerUnderTest
) -> AsyncIterator[tuple[Harness, Any]]:
    """The access community's gateway on a fake clock at 03:00 local."""
    async with fake_time_gateway(tmp_path, broker, START, access_doc()) as (h, clock):
        yield h, clock


async def token_for(h: Harness, name: str, role: str) -> str:
    """A fresh token of a user ``name`` with ``role``."""
    token = uuid.uuid4().hex
    await h.running.store.add_user(name, role, token, h.running.pipeline.clock.now())
    return token


def api(h: Harness, token: str | None = None) -> httpx.AsyncClient:
    """An HTTP client on the gateway: with a bearer token, or with none (it may log in)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    url = f"http://127.0.0.1:{h.running.http_port}"
    return httpx.AsyncClient(base_url=url, headers=headers, timeout=30)


async def login(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    """Log in as the console does; the client keeps the cookie. Returns the session."""
    r = await client.post("/api/v1/session", json={"token": token})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def breach(h: Harness, household: str = "h1") -> dict[str, Any]:
    """Open a household's door at 03:00: the door_breach alert as published."""
    with h.link() as link:
        if household == "h1":
            sensor = DoorSensor(link, "h1/front door", "zigbee2mqtt", z2m_base=h.z2m)
        else:
            sensor = DoorSensor(link, "door-h2", "native", base_topic=h.base)
        await asyncio.to_thread(sensor.open)
        while True:
            _, alert = await h.next_alert()
            if alert["type"] == "door_breach" and alert["household"] == household:
                return alert
