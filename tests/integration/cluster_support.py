"""Two gateway processes (``ISOGATE_HA``) on one PostgreSQL and one NATS node, and an officer's
phone watching their alerts: for the takeover and fencing tests and ``make faults-cluster``."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.clock import SystemClock
from isogate.settings import Settings
from simulators.broker import free_port
from simulators.door import DoorSensor
from simulators.link import SimLink
from simulators.process import start_gateway
from tests.conftest import prepare, site_doc, subscribed

OFFICER = "p1"
BREACH_HOUSEHOLDS = tuple(f"h{n}" for n in range(3, 9))
"""Extra households of officer p1, each with a native door: one breach each."""


def cluster_site() -> dict[str, Any]:
    """The test community, NATS-safe (no space in a topic), with p1's extra households."""
    doc = site_doc(door_debounce_s=0)
    doc["households"][0]["devices"][0]["address"] = "h1_door"
    for hid in BREACH_HOUSEHOLDS:
        doc["households"].append(
            {
                "id": hid,
                "address": f"幸福小区5栋{hid}",
                "residents": [{"id": f"r-{hid}", "name": "王五"}],
                "officer": OFFICER,
                "doctor": "d1",
                "technician": "t1",
                "isolation": {"start": "2026-11-20T00:00", "end": "2099-12-04T00:00"},
                "devices": [{"id": f"door-{hid}", "kind": "door", "protocol": "native"}],
            }
        )
    return doc


@dataclass
class Seen:
    """One alert publication on the officer's topic, and when it arrived (monotonic)."""

    at: float
    alert: dict[str, Any]


@dataclass
class Phone:
    """The officer's subscription to their alert topic, recording every publication."""

    link: SimLink
    seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        with self._lock:
            self.seen.append(Seen(time.monotonic(), json.loads(msg.payload)))

    def raised(self, household: str) -> list[Seen]:
        """The publications of ``household``'s door breach, status open."""
        with self._lock:
            return [
                s
                for s in self.seen
                if s.alert["household"] == household
                and s.alert["type"] == "door_breach"
                and s.alert["status"] == "open"
            ]

    async def wait_raised(self, household: str, timeout: float = 30) -> Seen:
        async with asyncio.timeout(timeout):
            while not self.raised(household):
                await asyncio.sleep(0.02)
        return self.raised(household)[0]


@dataclass
class Pair:
    """Two gateway processes sharing a client id, a database and the broker."""

    settings: list[Settings]
    procs: list[subprocess.Popen[bytes]]
    devices: SimLink
    phone: Phone

    async def health(self, i: int) -> dict[str, Any] | None:
        try:
            async with httpx.AsyncClient(timeout=1) as client:
                got = await client.get(f"http://127.0.0.1:{self.settings[i].http_port}/healthz")
            body: dict[str, Any] = got.json()
        except (httpx.HTTPError, ValueError):
            return None
        return body

    async def active(self, timeout: float = 60, *, not_: int | None = None) -> int:
        """The index of the active gateway (other than ``not_``), once there is one."""
        async with asyncio.timeout(timeout):
            while True:
                for i in range(len(self.procs)):
                    if i == not_ or self.procs[i].poll() is not None:
                        continue
                    body = await self.health(i)
                    if body is not None and body.get("role") == "active" and body.get("ok"):
                        return i
                await asyncio.sleep(0.05)

    async def breach(self, household: str) -> None:
        sensor = DoorSensor(self.devices, f"door-{household}", "native", base_topic=self.base)
        await asyncio.to_thread(sensor.open)

    @property
    def base(self) -> str:
        return self.settings[0].base_topic

    def log(self, i: int) -> str:
        return (self.settings[i].data_dir / "gateway.log").read_text(errors="replace")

    def stop(self) -> None:
        """Kill what still runs (a stopped one is continued first) and disconnect."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
            proc.wait(10)
        self.devices.__exit__(None, None, None)
        self.phone.link.__exit__(None, None, None)


def pair_settings(tmp_path: Path, mqtt_url: str, database_url: str, **lease: Any) -> list[Settings]:
    """Settings of two gateways of one pair: same topics, client id and database."""
    tag = uuid.uuid4().hex[:8]
    shared = {
        "mqtt_url": mqtt_url,
        "database_url": database_url,
        "base_topic": f"isogate-{tag}",
        "z2m_base_topic": f"z2m-{tag}",
        "omg_base_topic": f"home-{tag}",
        "frigate_base_topic": f"frigate-{tag}",
        "client_id": f"isogate-pair-{tag}",
        "ha": True,
        **lease,
    }
    return [
        Settings(**shared, data_dir=tmp_path / f"gw-{i}", http_port=free_port()) for i in (1, 2)
    ]


async def start_pair(settings: list[Settings], host: str, port: int) -> Pair:
    """Load the site, start both gateways, connect the devices' link and the officer's phone."""
    await prepare(settings[0], cluster_site(), SystemClock().now())
    procs = [start_gateway(s, "INFO") for s in settings]
    devices = SimLink(host, port).__enter__()
    phone = Phone(SimLink(host, port).__enter__())
    phone.link.client.on_message = phone.on_message
    await subscribed(phone.link, f"{settings[0].base_topic}/alerts/to/{OFFICER}")
    return Pair(settings, procs, devices, phone)
