"""The fake Frigate over a real broker and real HTTP: what the gateway receives decodes right."""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np
import paho.mqtt.client as mqtt
import pytest

from devices.camera import AnalysisFrame, decode_for_analysis
from devices.events import (
    DeviceRef,
    HeartbeatEvent,
    MotionEvent,
    Protocol,
    StatusEvent,
)
from devices.router import Router
from simulators.camera import DOOR, SceneKind, make_scene
from simulators.frigate import FakeFrigate

CAMERA = DeviceRef(Protocol.FRIGATE, "h1_door")
SPEED = 20.0  # a 10 s scene in half a second (rendering its frames takes about as long)


@dataclass
class Nvr:
    """A fake Frigate under a topic prefix of its own, and the gateway's view of its topics."""

    frigate: FakeFrigate
    router: Router
    received: queue.Queue[tuple[str, bytes]]

    def next(self, timeout: float = 5.0) -> tuple[str, bytes]:
        """The next message on the router's Frigate subscriptions."""
        return self.received.get(timeout=timeout)


@pytest.fixture
def nvr(broker: Any) -> Iterator[Nvr]:
    """A started fake Frigate for camera h1_door, and a subscriber on what the router reads."""
    prefix = f"frigate-{uuid.uuid4().hex[:8]}"  # unique per test: no stray traffic
    router = Router(frigate_base=prefix)
    topics = [t for t in router.subscriptions() if t.startswith(prefix + "/")]
    received: queue.Queue[tuple[str, bytes]] = queue.Queue()
    subscribed = threading.Event()
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in topics])
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, msg: received.put((msg.topic, msg.payload))
    client.connect(broker.host, broker.port)
    client.loop_start()
    assert subscribed.wait(10), "no SUBACK"
    frigate = FakeFrigate(broker.host, broker.port, camera="h1_door", topic_prefix=prefix)
    try:
        with frigate:
            yield Nvr(frigate, router, received)
    finally:
        client.disconnect()
        client.loop_stop()


def _door_change(jpeg_or_image: Any, empty: np.ndarray) -> int:
    """Pixels of the door's box that differ from the empty landing (the figure, if it is there)."""
    image = jpeg_or_image
    if isinstance(image, bytes):
        image = cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)
    diff = cv2.blur(cv2.absdiff(image, empty).max(axis=2), (5, 5))
    x0, y0, x1, y1 = DOOR
    return int((diff[y0:y1, x0:x1] > 25).sum())


def test_a_person_at_the_door_is_motion_that_starts_and_ends(nvr: Nvr) -> None:
    """A visit: new in zone door when the figure reaches the door, updates, end once it left."""
    scene = make_scene(SceneKind.VISIT, 4, fps=5.0)
    span = scene.presence()
    assert span is not None
    started = time.monotonic()
    sent = nvr.frigate.play(scene, speed=SPEED)
    elapsed = time.monotonic() - started
    messages = [nvr.next() for _ in sent]
    assert [body for _, body in messages] == [p.payload for p in sent]
    events = [e for topic, body in messages for e in nvr.router.decode(topic, body)]
    assert all(isinstance(e, MotionEvent) and e.device == CAMERA for e in events)
    assert [e.active for e in events] == [True] * (len(events) - 1) + [False]
    assert len(events) >= 3  # new, the better snapshot, end
    assert {e.ref for e in events} == {sent[0].event_id}
    assert events[0].zones == ("door",) and events[0].label == "person" and events[0].snapshot
    # new at the first frame at the door, end at the first frame after it, at the scene's pace.
    assert span[0] <= sent[0].scene_t < span[0] + 0.2
    assert span[1] <= sent[-1].scene_t < span[1] + 0.2
    assert elapsed >= sent[-1].scene_t / SPEED
    ts = [e.ts for e in events]
    assert all(t is not None for t in ts) and ts == sorted(ts)


def test_the_snapshot_shows_the_person_and_the_analysis_takes_it(nvr: Nvr) -> None:
    """The event's snapshot.jpg is a JPEG of the figure at the door; an unknown id is 404."""
    scene = make_scene(SceneKind.CROSSING, 7, fps=5.0)
    sent = nvr.frigate.play(scene, speed=SPEED)
    with urllib.request.urlopen(nvr.frigate.snapshot_url(sent[0].event_id), timeout=5) as r:
        assert r.headers["Content-Type"] == "image/jpeg"
        jpeg = r.read()
    assert isinstance(decode_for_analysis(jpeg), AnalysisFrame)
    span = scene.presence()
    assert span is not None
    frames = list(scene.jpegs())
    empty = cv2.imdecode(np.frombuffer(frames[0][1], np.uint8), cv2.IMREAD_COLOR)  # nobody yet
    before = next(jpeg for t, jpeg in reversed(frames) if t < span[0] - 0.3)
    assert _door_change(jpeg, empty) > 1000
    assert _door_change(before, empty) < 100  # the measure sees the figure, not the noise
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(nvr.frigate.snapshot_url("1700000000.123456-nosuch"), timeout=5)
    assert missing.value.code == 404
    with urllib.request.urlopen(nvr.frigate.url + "/api/version", timeout=5) as r:
        assert r.read().decode().startswith("0.14")


def test_a_light_switched_on_gives_no_event(nvr: Nvr) -> None:
    """Frigate sees nobody when the landing light goes on: nothing before the stats that follow."""
    scene = make_scene(SceneKind.LIGHT_ON, 3, fps=5.0)
    assert scene.presence() is None
    assert nvr.frigate.play(scene, speed=SPEED) == []
    nvr.frigate.publish_stats()  # the sentinel: on the same connection, so after any event
    topic, body = nvr.next()
    assert topic.endswith("/stats")
    assert nvr.router.decode(topic, body) == [HeartbeatEvent(device=CAMERA, ts=_ts(body))]


def test_stats_say_the_camera_is_alive_then_down(nvr: Nvr) -> None:
    """camera_fps above 0 reads as a heartbeat; 0 (the stream is down) as the camera offline."""
    nvr.frigate.publish_stats()
    nvr.frigate.camera_fps = 0.0
    nvr.frigate.publish_stats()
    alive, down = (nvr.router.decode(*nvr.next()) for _ in range(2))
    assert isinstance(alive, list) and isinstance(alive[0], HeartbeatEvent)
    assert isinstance(down, list) and down[0] == StatusEvent(
        device=CAMERA, online=False, ts=down[0].ts
    )


def test_stop_ends_a_scene_playing_at_real_pace_promptly(nvr: Nvr) -> None:
    """close() during a real-time play returns at once, and the play stops with it."""
    scene = make_scene(SceneKind.VISIT, 4, fps=5.0)
    result: list[object] = []
    player = threading.Thread(target=lambda: result.append(nvr.frigate.play(scene)))
    player.start()
    time.sleep(0.3)
    started = time.monotonic()
    nvr.frigate.close()
    player.join(timeout=2)
    assert not player.is_alive()
    assert time.monotonic() - started < 1.5
    assert result == [[]]  # the figure reaches the door seconds into the scene: nothing yet


def _ts(stats: bytes) -> datetime:
    return datetime.fromtimestamp(json.loads(stats)["service"]["last_updated"], UTC)
