"""What the console's paperwork tests share: the test community with a second doctor (d2 has
h2, whose period ends at 03:10), a gateway on fake time at 03:00, clients per staff member, and
the alerts seen up to a sentinel."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import BrokerUnderTest, Harness, at_local, fake_time_gateway, site_doc
from tests.integration.access_support import api, token_for

START = at_local("2026-11-23 03:00")
"""w1 and w3 on duty for every household; no visit window of the site file."""
H2_END = at_local("2026-11-23 03:10")
"""The end of h2's isolation period."""
STAFF = {
    "w1": "watcher",
    "w2": "watcher",
    "w3": "watcher",
    "p1": "officer",
    "p2": "officer",
    "d1": "doctor",
    "d2": "doctor",
    "t1": "technician",
    "s1": "supervisor",
}


def care_doc() -> dict[str, Any]:
    """The test community; h2 has its own doctor d2 and a period that ends at 03:10."""
    doc = site_doc(door_debounce_s=0)
    doc["staff"].append({"id": "d2", "name": "刘医生", "role": "doctor"})
    h2 = doc["households"][1]
    h2["doctor"] = "d2"
    h2["isolation"] = {"start": "2026-11-20T00:00", "end": "2026-11-23T03:10"}
    return doc


@contextlib.asynccontextmanager
async def care_gateway(
    tmp_path: Path, broker: BrokerUnderTest
) -> AsyncIterator[tuple[Harness, Any, dict[str, httpx.AsyncClient]]]:
    """The gateway at 03:00 on a fake clock, and a bearer client per staff member (and admin)."""
    async with fake_time_gateway(tmp_path, broker, START, care_doc()) as (h, clock):
        clients = {"admin": api(h, h.token)}
        for name, role in STAFF.items():
            clients[name] = api(h, await token_for(h, name, role))
        try:
            yield h, clock, clients
        finally:
            for c in clients.values():
                await c.aclose()


async def alerts_until(h: Harness, household: str, type_: str) -> list[dict[str, Any]]:
    """Every alert published on the all-alerts topic up to and including the first of
    ``household`` and ``type_`` (the sentinel)."""
    seen = []
    while True:
        topic, alert = await h.next_alert()
        if not topic.endswith("/alerts"):
            continue
        seen.append(alert)
        if alert["household"] == household and alert["type"] == type_:
            return seen


async def publish(h: Harness, topic: str, body: dict[str, Any]) -> None:
    """Publish one JSON message as a device would."""
    with h.link() as link:
        await asyncio.to_thread(link.publish, topic, json.dumps(body).encode())
