"""A fake Frigate NVR watching one door camera: its MQTT events and stats, and its snapshot API.

It watches a synthetic scene from :mod:`simulators.camera` at the scene's pace (or ``speed``
times faster), rendering each frame as it comes, and says what Frigate would with a person
detector, a zone ``door`` drawn over the door and snapshots on:

- ``<prefix>/events``: ``new`` when the person-sized figure comes to the door
  (``Scene.presence``), with ``current_zones: ["door"]`` and a snapshot of that frame; an
  ``update`` with a better snapshot when the figure is at the middle of its time at the door, and
  every 5 s while it stays (as Frigate republishes); ``end`` once it has gone, ``end_time`` set.
  Published at QoS 0 and never retained, as Frigate does; ids like Frigate's,
  ``<start epoch>.<µs>-<6 random characters>``.
- ``<prefix>/stats``: the ``/api/stats`` document (per-camera ``camera_fps``), on demand or every
  ``stats_interval_s``; ``<prefix>/available``: ``online`` / ``offline`` (retained; the will).
- HTTP on 127.0.0.1: ``GET /api/events/<id>/snapshot.jpg`` (the event's best snapshot, 404 for
  an unknown id), ``GET /api/version`` and ``GET /api/stats``.

A scene without anyone at the door (a light switched on, a shadow, a covered lens) gives no event:
Frigate's object detector does not see a person in it.
"""

from __future__ import annotations

import json
import random
import string
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import cv2

from simulators._lifetime import StartStop
from simulators.camera import Image, Scene
from simulators.link import SimLink

VERSION = "0.14.1-f4f3cfa"
"""The Frigate version the fake answers with."""
REPUBLISH_S = 5.0
"""Frigate republishes a tracked object at least this often (scene seconds)."""
_ID_CHARS = string.ascii_lowercase + string.digits


@dataclass(frozen=True, slots=True)
class Published:
    """One ``<prefix>/events`` message as the fake sent it.

    Attributes:
        type: ``new``, ``update`` or ``end``.
        event_id: Frigate's event id.
        scene_t: the scene time of the frame it describes, seconds from the scene's start.
        frame_time: that frame's wall time (epoch seconds), as in the message.
        payload: the message body.
    """

    type: str
    event_id: str
    scene_t: float
    frame_time: float
    payload: bytes


@dataclass(slots=True)
class _Track:
    """The person Frigate tracks while it is at the door."""

    id: str
    start: float
    score: float
    snapshot_time: float
    last_published_t: float
    better_sent: bool = False
    before: dict[str, Any] = field(default_factory=dict)


class FakeFrigate(StartStop):
    """Frigate for one camera, over a real MQTT connection and a real HTTP server."""

    def __init__(
        self,
        broker_host: str,
        broker_port: int,
        *,
        camera: str = "front_door",
        zone: str = "door",
        topic_prefix: str = "frigate",
        http_port: int = 0,
        qos: int = 0,
        stats_interval_s: float | None = None,
    ) -> None:
        """Prepare the fake; nothing connects or listens until ``start``.

        Args:
            broker_host: the MQTT broker's host.
            broker_port: its port.
            camera: the camera's name in Frigate (the ``address`` in the site file).
            zone: the zone drawn over the door.
            topic_prefix: Frigate's ``mqtt.topic_prefix``.
            http_port: the API's port on 127.0.0.1; 0 takes a free one.
            qos: the QoS of events and stats (Frigate: 0).
            stats_interval_s: publish stats this often; None only when asked (``publish_stats``).
        """
        self.camera, self.zone, self.prefix, self.qos = camera, zone, topic_prefix, qos
        self.camera_fps = 5.0
        """What stats report for the camera; 0 says its stream is down."""
        self.stats_interval_s = stats_interval_s
        self._broker = (broker_host, broker_port)
        self._http_port = http_port
        self._link: SimLink | None = None
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._playing = threading.Lock()
        self._snapshots: dict[str, bytes] = {}
        self._started_at = time.time()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> FakeFrigate:
        """Connect to the broker (``available`` online) and serve the API on 127.0.0.1."""
        self._stopping.clear()
        self._started_at = time.time()
        try:
            self._server = ThreadingHTTPServer(("127.0.0.1", self._http_port), self._handler())
            self._server.daemon_threads = True
            link = SimLink(*self._broker, will=(self._topic("available"), "offline"))
            self._link = link  # set first, so that stop() also ends a half-made connection
            link.__enter__()
            link.publish(self._topic("available"), "online", retain=True)
        except BaseException:
            self.stop()
            raise
        # A short poll interval keeps stop() quick.
        self._spawn(self._server.serve_forever, "frigate-http", poll_interval=0.05)
        if self.stats_interval_s is not None:
            self._spawn(self._stats_loop, "frigate-stats", interval=self.stats_interval_s)
        return self

    def stop(self) -> None:
        """Stop a scene being played, say ``offline``, stop serving and disconnect."""
        self._stopping.set()
        if self._server is not None:
            if self._threads:  # shutdown() waits for serve_forever, which may never have run
                self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._link is not None:
            self._link.publish(self._topic("available"), "offline", retain=True, wait=False)
            self._link.__exit__(None, None, None)
            self._link = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    close = stop

    @property
    def url(self) -> str:
        """The API's base URL, ``http://127.0.0.1:<port>``."""
        assert self._server is not None, "start() the fake Frigate first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def snapshot_url(self, event_id: str) -> str:
        """Where Frigate serves the snapshot of an event."""
        return f"{self.url}/api/events/{event_id}/snapshot.jpg"

    def snapshot(self, event_id: str) -> bytes | None:
        """The JPEG the API serves for an event now, or None for an unknown id."""
        with self._lock:
            return self._snapshots.get(event_id)

    # -- what Frigate says ---------------------------------------------------------------

    def play(self, scene: Scene, speed: float = 1.0) -> list[Published]:
        """Watch a scene to its end (or until ``stop``), publishing what Frigate would.

        Args:
            scene: the scene; its frames are rendered as it plays.
            speed: how many times faster than real time (``math.inf``: as fast as it renders).

        Returns:
            The events messages published, in order.
        """
        if not speed > 0:
            raise ValueError(f"speed must be above 0, got {speed}")
        with self._playing:
            return self._play(scene, speed)

    def _play(self, scene: Scene, speed: float) -> list[Published]:
        span = scene.presence()
        rng = random.Random(scene.seed)
        wall0, mono0 = time.time(), time.monotonic()
        sent: list[Published] = []
        track: _Track | None = None
        last = (0.0, wall0)
        for t, image in scene.frames():
            if self._stopping.wait(max(0.0, mono0 + t / speed - time.monotonic())):
                return sent
            frame_time = wall0 + t / speed
            last = (t, frame_time)
            at_door = span is not None and span[0] <= t < span[1]
            if at_door and track is None:
                event_id = f"{frame_time:.6f}-{''.join(rng.choices(_ID_CHARS, k=6))}"
                track = _Track(event_id, frame_time, rng.uniform(0.72, 0.96), frame_time, t)
                self._keep(event_id, image)
                sent.append(self._send("new", track, t, frame_time, [self.zone]))
            elif at_door and track is not None and span is not None:
                if not track.better_sent and t >= (span[0] + span[1]) / 2:
                    track.better_sent, track.snapshot_time = True, frame_time
                    track.score = max(track.score, rng.uniform(0.8, 0.97))
                    self._keep(track.id, image)
                    sent.append(self._send("update", track, t, frame_time, [self.zone]))
                elif t - track.last_published_t >= REPUBLISH_S:
                    sent.append(self._send("update", track, t, frame_time, [self.zone]))
            elif track is not None:
                sent.append(self._send("end", track, t, frame_time, [], end_time=frame_time))
                track = None
        if track is not None:  # still at the door when the scene ends: the camera stops here
            t, frame_time = last
            sent.append(self._send("end", track, t, frame_time, [self.zone], end_time=frame_time))
        return sent

    def stats(self) -> dict[str, Any]:
        """The stats document, as ``/api/stats`` and ``<prefix>/stats`` carry it."""
        now = time.time()
        fps = round(self.camera_fps, 1)
        return {
            "cameras": {
                self.camera: {
                    "camera_fps": fps,
                    "process_fps": fps,
                    "skipped_fps": 0.0,
                    "detection_fps": 0.0,
                    "detection_enabled": 1,
                    "pid": 412,
                    "capture_pid": 436,
                    "ffmpeg_pid": 448 if fps else 0,
                    "audio_rms": 0.0,
                    "audio_dBFS": 0.0,
                }
            },
            "detectors": {"cpu": {"inference_speed": 92.4, "detection_start": 0.0, "pid": 398}},
            "detection_fps": 0.0,
            "service": {
                "uptime": round(now - self._started_at),
                "version": VERSION,
                "latest_version": VERSION,
                "last_updated": round(now),
                "storage": {},
            },
        }

    def publish_stats(self) -> None:
        """Publish the stats document once."""
        self._publish(self._topic("stats"), json.dumps(self.stats()).encode())

    # -- inside --------------------------------------------------------------------------

    def _topic(self, sub: str) -> str:
        return f"{self.prefix}/{sub}"

    def _spawn(self, target: Any, name: str, **kwargs: Any) -> None:
        thread = threading.Thread(target=target, kwargs=kwargs, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _stats_loop(self, interval: float) -> None:
        self.publish_stats()
        while not self._stopping.wait(interval):
            self.publish_stats()

    def _publish(self, topic: str, payload: bytes) -> None:
        link = self._link
        if link is not None and not self._stopping.is_set():
            # Not waiting for the broker's ack keeps the scene's pace, and a stop() racing with
            # a publish costs that message, never an exception in the player.
            link.publish(topic, payload, qos=self.qos, wait=False)

    def _keep(self, event_id: str, image: Image) -> None:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 70])
        if not ok:  # pragma: no cover - OpenCV always encodes an 8-bit BGR image
            raise RuntimeError("JPEG encoding failed")
        with self._lock:  # kept before the message that announces it goes out
            self._snapshots[event_id] = buf.tobytes()

    def _send(
        self,
        kind: str,
        track: _Track,
        t: float,
        frame_time: float,
        zones: list[str],
        end_time: float | None = None,
    ) -> Published:
        after = {
            "id": track.id,
            "camera": self.camera,
            "frame_time": round(frame_time, 6),
            "snapshot_time": round(track.snapshot_time, 6),
            "label": "person",
            "sub_label": None,
            "top_score": round(track.score, 6),
            "false_positive": False,
            "start_time": round(track.start, 6),
            "end_time": None if end_time is None else round(end_time, 6),
            "score": round(track.score, 6),
            "active": True,
            "stationary": False,
            "motionless_count": 0,
            "position_changes": 0,
            "current_zones": zones,
            "entered_zones": [self.zone],
            "has_clip": True,
            "has_snapshot": True,
            "attributes": {},
            "current_attributes": [],
        }
        # Frigate's first message shows the object as it was a frame before: unconfirmed.
        before = track.before or after | {
            "false_positive": True,
            "top_score": 0.0,
            "current_zones": [],
            "entered_zones": [],
            "has_snapshot": False,
        }
        payload = json.dumps({"type": kind, "before": before, "after": after}).encode()
        track.before, track.last_published_t = after, t
        self._publish(self._topic("events"), payload)
        return Published(kind, track.id, t, frame_time, payload)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        frigate = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path.rstrip("/")
                parts = path.split("/")
                if path == "/api/version":
                    self._answer(200, "text/plain", VERSION.encode())
                elif path == "/api/stats":
                    self._answer(200, "application/json", json.dumps(frigate.stats()).encode())
                elif (
                    len(parts) == 5
                    and parts[:3] == ["", "api", "events"]
                    and (parts[4] == "snapshot.jpg")
                ):
                    jpeg = frigate.snapshot(parts[3])
                    if jpeg is None:
                        self._not_found("Event not found")
                    else:
                        self._answer(200, "image/jpeg", jpeg)
                else:
                    self._not_found("Not found")

            def _not_found(self, message: str) -> None:
                body = json.dumps({"success": False, "message": message}).encode()
                self._answer(404, "application/json", body)

            def _answer(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the tests read what was served, not an access log

        return Handler
