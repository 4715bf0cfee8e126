"""One scene, three ways in: JPEGs over MQTT, a video file the gateway reads, Frigate's events.

Each source plays a light switched on and then someone at the door; each must give the same
verdicts: no motion while the light changes, then a ``motion_at_door`` for its camera.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import cv2
import httpx

from gateway.clock import SystemClock
from simulators.camera import DOOR_ROI, SceneKind, make_scene
from simulators.frigate import FakeFrigate
from tests.conftest import BrokerUnderTest, prepare, running_gateway, site_doc, unique_settings
from tests.integration.test_cameras import WINDOW_S, Player, motion_events

LIGHT, VISIT = (SceneKind.LIGHT_ON, 5), (SceneKind.VISIT, 3)


def write_light_then_visit(path: Path) -> float:
    """The two scenes back to back in one MJPG file; returns when the visit begins (s)."""
    light, visit = make_scene(*LIGHT), make_scene(*VISIT)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), light.fps, (640, 480))
    try:
        for scene in (light, visit):
            for _t, image in scene.frames():
                out.write(image)
    finally:
        out.release()
    return light.duration_s


def three_sources(video: Path, frigate_url: str) -> dict[str, Any]:
    doc = site_doc(camera_window_s=WINDOW_S, evidence_before_s=2, evidence_after_s=3)
    roi = [list(p) for p in DOOR_ROI]
    h1, h2 = doc["households"]
    h1["devices"].append({"id": "cam-h1", "kind": "camera", "protocol": "mqtt", "roi": roi})
    h2["devices"].append(
        {"id": "cam-h2", "kind": "camera", "protocol": "url", "source": str(video), "roi": roi}
    )
    frigate_cam = {
        "id": "cam-h4",
        "kind": "camera",
        "protocol": "frigate",
        "address": "front_door",
        "zone": "door",
        "source": frigate_url,
    }
    doc["households"].append(
        {
            "id": "h4",
            "address": "幸福小区3栋2单元504",
            "officer": "p2",
            "technician": "t1",
            "isolation": {"start": "2026-11-20T00:00", "end": "2099-12-04T00:00"},
            "devices": [frigate_cam],
        }
    )
    return doc


async def test_mqtt_file_and_frigate_sources_give_the_same_verdicts(
    tmp_path: Path, broker: BrokerUnderTest
) -> None:
    video = tmp_path / "door.avi"
    visit_offset = write_light_then_visit(video)
    settings = unique_settings(tmp_path, broker)
    frigate = FakeFrigate(
        broker.host, broker.port, camera="front_door", topic_prefix=settings.frigate_base_topic
    )
    with frigate:
        clock = SystemClock()
        token = await prepare(settings, three_sources(video, frigate.url), clock.now())
        async with running_gateway(settings, broker, clock, token) as h:
            with Player(h, "cam-h1") as cam:

                async def frigate_plays() -> None:
                    for kind, seed in (LIGHT, VISIT):
                        await asyncio.to_thread(frigate.play, make_scene(kind, seed))

                async def mqtt_plays() -> None:
                    for kind, seed in (LIGHT, VISIT):
                        await cam.run(kind, seed)

                began = time.time()
                await asyncio.gather(frigate_plays(), mqtt_plays())
                alerts: dict[str, dict[str, Any]] = {}
                deadline = time.monotonic() + WINDOW_S + 15
                while len(alerts) < 3 and time.monotonic() < deadline:
                    topic, alert = await h.next_alert(max(0.1, deadline - time.monotonic()))
                    if topic == f"{h.base}/alerts" and alert["type"] == "motion_at_door":
                        alerts[alert["device"]] = alert
            assert set(alerts) == {"cam-h1", "cam-h2", "cam-h4"}
            store = h.running.store
            # The file is read from its first frame on; the light took its first seconds.
            first = [e for e in await store.household_events("h2") if e.kind == "frame"]
            file_began = min(e.ts for e in first).timestamp()
            light_ends = {
                "h1": cam.started[VISIT[0]],
                "h2": file_began + visit_offset,
                "h4": began + visit_offset,
            }
            for hh, visit_began in light_ends.items():
                starts = [e for e in await motion_events(h, hh) if e.data.active]
                assert starts, f"no motion from {hh}'s camera"
                assert all(e.ts.timestamp() >= visit_began - 1.0 for e in starts), hh
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{h.running.http_port}",
                headers={"Authorization": f"Bearer {h.token}"},
            ) as client:
                frigate_alert = alerts["cam-h4"]["id"]

                async def snapshot_kept() -> bool:
                    r = await client.get(f"/api/v1/alerts/{frigate_alert}/snapshot")
                    return r.status_code == 200 and r.content[:2] == b"\xff\xd8"

                await h.wait_for(snapshot_kept, timeout=15)
