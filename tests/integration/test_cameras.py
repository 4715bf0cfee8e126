"""Door cameras end to end: JPEG frames over the real broker → analysis → rules → alerts, evidence.

Frames are the simulator's synthetic scenes, published at their real pace (10 frames/s), so each
test takes the seconds its scene lasts. The correlation window is 8 s here (20 s by default).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import threading
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from rich.console import Console

from gateway.clock import SystemClock
from isogate.commission import commission
from simulators.camera import DOOR_ROI, SceneKind, make_scene
from simulators.door import DoorSensor
from simulators.link import SimLink
from tests.conftest import (
    BrokerUnderTest,
    Harness,
    prepare,
    running_gateway,
    site_doc,
    unique_settings,
)

WINDOW_S = 8


def camera_site() -> dict[str, Any]:
    """The test community with a camera at h1's door and a household h3 with only a camera."""
    doc = site_doc(
        door_debounce_s=0,
        camera_window_s=WINDOW_S,
        evidence_before_s=2,
        evidence_after_s=3,
    )
    roi = [list(p) for p in DOOR_ROI]
    cam = {"id": "cam-h1", "kind": "camera", "protocol": "mqtt", "roi": roi, "offline_s": 12}
    doc["households"][0]["devices"].append(cam)
    h3 = {
        "id": "h3",
        "address": "幸福小区3栋2单元503",
        "officer": "p2",
        "technician": "t1",
        "isolation": {"start": "2026-11-20T00:00", "end": "2099-12-04T00:00"},
        "devices": [{"id": "cam-h3", "kind": "camera", "protocol": "mqtt", "roi": roi}],
    }
    doc["households"].append(h3)
    return doc


@pytest.fixture
async def cams(tmp_path: Path, broker: BrokerUnderTest) -> AsyncIterator[Harness]:
    """A gateway on wall time watching the camera site."""
    settings = unique_settings(tmp_path, broker)
    clock = SystemClock()
    token = await prepare(settings, camera_site(), clock.now())
    async with running_gateway(settings, broker, clock, token) as h:
        yield h


class Player:
    """Publishes scenes' frames on a camera's topic at their pace, in a thread."""

    def __init__(self, h: Harness, camera: str) -> None:
        self.topic = f"{h.base}/cam/{camera}/frame"
        self.link = SimLink(h.broker.host, h.broker.port)
        self.started: dict[SceneKind, float] = {}

    def play(self, kind: SceneKind, seed: int, *, after_s: float = 0.0, for_s: float = 60) -> None:
        """Frames from ``after_s`` into the scene, for at most ``for_s`` seconds."""
        scene = make_scene(kind, seed).jpegs()
        frames = [(t, j) for t, j in scene if after_s <= t < after_s + for_s]
        start = time.time()
        self.started[kind] = start
        for t, jpeg in frames:
            delay = start + (t - after_s) - time.time()
            if delay > 0:
                time.sleep(delay)
            self.link.client.publish(self.topic, jpeg, qos=0)

    async def run(self, kind: SceneKind, seed: int, **kw: float) -> None:
        await asyncio.to_thread(self.play, kind, seed, **kw)

    def __enter__(self) -> Player:
        self.link.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.link.__exit__(None, None, None)


async def alert_of(h: Harness, kind: str, timeout: float = 30) -> dict[str, Any]:
    """The next alert of a type on the all-alerts topic (others are passed over)."""
    deadline = time.monotonic() + timeout
    while True:
        topic, alert = await h.next_alert(max(0.1, deadline - time.monotonic()))
        if topic == f"{h.base}/alerts" and alert["type"] == kind:
            return alert


def api(h: Harness) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{h.running.http_port}",
        headers={"Authorization": f"Bearer {h.token}"},
    )


async def motion_events(h: Harness, household: str) -> list[Any]:
    return [e for e in await h.running.store.household_events(household) if e.kind == "motion"]


async def test_a_breach_with_motion_gets_a_snapshot_and_evidence_whose_hashes_match(cams: Harness):
    with Player(cams, "cam-h1") as cam, cams.link() as link:
        visit = asyncio.create_task(cam.run(SceneKind.VISIT, 3))

        async def moving() -> bool:
            return any(e.data.active for e in await motion_events(cams, "h1"))

        await cams.wait_for(moving, timeout=15)
        sensor = DoorSensor(link, "h1/front door", "zigbee2mqtt", z2m_base=cams.z2m)
        await asyncio.to_thread(sensor.open)
        breach = await alert_of(cams, "door_breach")
        assert breach["snapshot"].endswith(f"/api/v1/alerts/{breach['id']}/snapshot")
        seen = await alert_of(cams, "door_breach")  # published again: the camera saw someone
        assert seen["id"] == breach["id"] and seen["seen_by_camera"] is True
        await visit
    store = cams.running.store
    history = await store.alert_history(breach["id"])
    assert any(e.action == "seen_by_camera" and "cam-h1" in (e.note or "") for e in history)
    evidence = cams.running.evidence

    async def complete() -> bool:
        manifest = evidence.manifest(breach["id"])
        return manifest is not None and manifest.status.value == "complete"

    await cams.wait_for(complete, timeout=20)
    async with api(cams) as client:
        snap = await client.get(f"/api/v1/alerts/{breach['id']}/snapshot")
        assert snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg"
        best = evidence.best(breach["id"])
        assert best is not None and snap.content == best.read_bytes()
        listing = (await client.get(f"/api/v1/alerts/{breach['id']}/evidence")).json()
        frames = listing["frames"]
        assert len(frames) >= 10 and {f["camera"] for f in frames} == {"cam-h1"}
        for f in frames:
            body = (await client.get(f["url"])).content
            assert hashlib.sha256(body).hexdigest() == f["sha256"]
        raised = datetime.fromisoformat(breach["raised_at"])
        times = [datetime.fromisoformat(f["t"]) for f in frames]
        assert min(times) < raised < max(times)  # before and after the opening
    assert evidence.verify(breach["id"]) == []


async def test_someone_at_the_shut_door_raises_motion_at_door_and_a_light_raises_nothing(
    cams: Harness,
):
    with Player(cams, "cam-h1") as cam:
        await cam.run(SceneKind.LIGHT_ON, 5)
        await cam.run(SceneKind.VISIT, 3)
        alert = await alert_of(cams, "motion_at_door")
    # The light came first: had it been motion, its alert would have come first.
    visit_began = cam.started[SceneKind.VISIT]
    assert datetime.fromisoformat(alert["raised_at"]).timestamp() >= visit_began
    assert alert["severity"] == "info" and alert["device"] == "cam-h1"
    assert alert["snapshot"] is not None
    assert all(e.ts.timestamp() >= visit_began for e in await motion_events(cams, "h1"))


async def test_a_covered_lens_is_tamper_and_a_camera_that_stops_goes_offline(cams: Harness):
    scene = make_scene(SceneKind.COVERED, 7)
    assert scene.truth.tamper_onset_s is not None
    with Player(cams, "cam-h1") as cam:
        await cam.run(SceneKind.COVERED, 7, for_s=1.5)  # the untouched view: the reference
        await cam.run(SceneKind.COVERED, 7, after_s=scene.truth.tamper_onset_s + 0.5, for_s=8)
        tamper = await alert_of(cams, "tamper")
        assert tamper["device"] == "cam-h1" and "镜头被遮挡" in tamper["message"]
        assert set(tamper["recipients"]) >= {"p1", "t1"}
        stopped = time.time()
        offline = await alert_of(cams, "device_offline", timeout=25)
    # Offline between 3/4 of its 12 s and all of it after the last frame (summaries every 3 s).
    assert offline["device"] == "cam-h1" and time.time() - stopped >= 8.5


async def test_commissioning_a_household_with_a_camera_passes_once_a_frame_arrives(
    cams: Harness,
):
    out = io.StringIO()
    watching = asyncio.create_task(
        commission(cams.running.store, "h3", SystemClock(), Console(file=out), timeout_s=20)
    )
    await asyncio.sleep(1.0)
    assert not watching.done()
    with Player(cams, "cam-h3") as cam:
        await cam.run(SceneKind.EMPTY, 1, for_s=0.5)
    assert await watching is True


async def test_garbage_frames_are_rejected_with_their_reason_and_never_hold_up_a_door(
    cams: Harness,
):
    topic = f"{cams.base}/cam/cam-h1/frame"
    stop = threading.Event()

    def flood() -> None:
        with SimLink(cams.broker.host, cams.broker.port) as link:
            while not stop.is_set():
                link.client.publish(topic, b"\xff\xd8 garbage " * 1000, qos=0)
                time.sleep(0.01)

    flooding = asyncio.create_task(asyncio.to_thread(flood))
    try:
        with cams.link() as link:
            sensor = DoorSensor(link, "h1/front door", "zigbee2mqtt", z2m_base=cams.z2m)
            await asyncio.sleep(0.5)
            began = time.monotonic()
            await asyncio.to_thread(sensor.open)
            await alert_of(cams, "door_breach", timeout=5)
            assert time.monotonic() - began < 2.0
    finally:
        stop.set()
        await flooding
    async with api(cams) as client:

        async def listed() -> bool:
            rows = (await client.get("/api/v1/rejected")).json()
            return any("cam-h1: bad frame" in r["reason"] for r in rows)

        await cams.wait_for(listed)


async def test_a_visitor_seen_just_before_a_restart_is_still_told_after_it(
    tmp_path: Path, broker: BrokerUnderTest
):
    """The motion run waits out its window across the restart (replayed from the log)."""
    settings = unique_settings(tmp_path, broker)
    clock = SystemClock()
    token = await prepare(settings, camera_site(), clock.now())
    async with running_gateway(settings, broker, clock, token) as h:
        with Player(h, "cam-h1") as cam:
            visit = asyncio.create_task(cam.run(SceneKind.VISIT, 3, for_s=6))

            async def moving() -> bool:
                return any(e.data.active for e in await motion_events(h, "h1"))

            await h.wait_for(moving, timeout=15)
            began = time.time()
            await visit
    assert time.time() - began < WINDOW_S  # stopped before the window ran out
    async with running_gateway(settings, broker, clock, token) as h:
        alert = await alert_of(h, "motion_at_door", timeout=WINDOW_S + 10)
        assert alert["device"] == "cam-h1"
