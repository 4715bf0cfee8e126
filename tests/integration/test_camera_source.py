"""Pulled cameras: a recording, an HTTP MJPEG camera that stalls or sends garbage, MQTT frames."""

from __future__ import annotations

import asyncio
import itertools
import queue
import random
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from devices.camera import AnalysisFrame, decode_for_analysis
from devices.camera_source import PulledCamera, SourceFault, safe_source
from simulators.camera import Scene, SceneKind, make_scene
from simulators.camera_feed import MjpegServer, clip, publish_scene, write_video
from simulators.link import SimLink
from tests.conftest import BrokerUnderTest, subscribed

SECONDS = 2.0
"""How much of a scene a test plays: enough for a few frames, short enough to be quick."""


def door_scene(fps: float, seed: int = 4) -> Scene:
    """Someone crossing the landing (of which a test plays the first seconds)."""
    return make_scene(SceneKind.CROSSING, seed, fps=fps)


@dataclass
class Seen:
    """What a pulled camera handed over, in order: frames and faults."""

    frames: list[tuple[bytes, float]] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)
    order: list[str] = field(default_factory=list)  # "frame" or the fault's reason
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_frame(self, jpeg: bytes, at: float) -> None:
        with self.lock:
            self.frames.append((jpeg, at))
            self.order.append("frame")

    def on_fault(self, reason: str) -> None:
        with self.lock:
            self.faults.append(reason)
            self.order.append(reason)


def until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    """Poll ``predicate`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@pytest.fixture
def pulled() -> Iterator[Callable[..., tuple[PulledCamera, Seen]]]:
    """Make started pulled cameras, all stopped at the end of the test."""
    cams: list[PulledCamera] = []

    def make(source: str, **kw: Any) -> tuple[PulledCamera, Seen]:
        seen = Seen()
        kw = {"stall_s": 2.0, "backoff_base_s": 0.1, "backoff_max_s": 0.5} | kw
        cam = PulledCamera("cam-t", source, on_frame=seen.on_frame, on_fault=seen.on_fault, **kw)
        cams.append(cam)
        cam.start()
        return cam, seen

    yield make
    for cam in cams:
        cam.stop(timeout=5)


@pytest.fixture
def mjpeg() -> Iterator[MjpegServer]:
    """An HTTP MJPEG camera streaming a 10 fps scene in a loop."""
    with MjpegServer(door_scene(fps=10.0), seconds=SECONDS) as server:
        yield server


def assert_analysable(jpeg: bytes) -> None:
    frame = decode_for_analysis(jpeg)
    assert isinstance(frame, AnalysisFrame), frame
    assert (frame.width, frame.height) == (640, 480)


@pytest.mark.parametrize(
    ("scene_fps", "cap", "fourcc", "suffix"),
    [(10.0, 5.0, "MJPG", ".avi"), (5.0, 30.0, "MJPG", ".avi"), (10.0, 5.0, "mp4v", ".mp4")],
)
def test_a_recording_plays_once_in_real_time_then_ends(
    tmp_path: Path, pulled: Any, scene_fps: float, cap: float, fourcc: str, suffix: str
):
    """A video file plays at its own pace, capped, each frame a good JPEG, then 'ended'."""
    scene = door_scene(fps=scene_fps)
    path = tmp_path / f"door{suffix}"
    try:
        written = write_video(scene, path, fourcc=fourcc, seconds=SECONDS)
    except OSError:
        pytest.skip(f"this OpenCV cannot write {fourcc}")
    assert written == round(SECONDS * scene_fps)
    began = time.time()
    cam, seen = pulled(str(path), fps=cap)
    until(lambda: not cam.running, "the recording to end", timeout=10)
    expected = round(SECONDS * min(scene_fps, cap))
    assert expected - 1 <= len(seen.frames) <= expected + 1
    assert seen.order[-1].startswith(SourceFault.ENDED) and "played to its end" in seen.order[-1]
    assert seen.order[:-1] == ["frame"] * len(seen.frames)
    assert cam.frames == len(seen.frames) and cam.skipped == written - cam.frames
    assert cam.reconnects == 0 and cam.fault_counts == {SourceFault.ENDED: 1}
    for jpeg, _at in seen.frames:
        assert_analysable(jpeg)
    # Real time: the frames carry start + their position, and came no faster than that.
    times = [at for _j, at in seen.frames]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(g == pytest.approx(1 / min(scene_fps, cap), abs=0.01) for g in gaps)
    assert began - 0.5 <= times[0] <= began + 1.5
    assert time.time() - began >= times[-1] - times[0]


def test_a_missing_file_cannot_be_opened_and_is_not_retried(tmp_path: Path, pulled: Any):
    """A recording that is not there is reported once; nothing is retried."""
    cam, seen = pulled(str(tmp_path / "nowhere.avi"), fps=5)
    until(lambda: not cam.running, "the reader to give up")
    assert len(seen.faults) == 1 and seen.faults[0].startswith(SourceFault.CANNOT_OPEN)
    assert "nowhere.avi" in seen.faults[0] and cam.reconnects == 0


def test_an_http_mjpeg_camera_is_read_at_the_capped_rate(mjpeg: MjpegServer, pulled: Any):
    """OpenCV reads the MJPEG URL; the camera's own JPEGs come through, at most 4 a second."""
    cam, seen = pulled(mjpeg.url, fps=4)
    until(lambda: cam.frames >= 2, "the first frames")
    first, t0 = cam.frames, time.monotonic()
    time.sleep(1.5)
    rate = (cam.frames - first) / (time.monotonic() - t0)
    assert 3.0 <= rate <= 4.7
    assert seen.faults == [] and cam.skipped >= cam.frames - 2
    served = {jpeg for _t, jpeg in clip(mjpeg.scene.jpegs(mjpeg.quality), SECONDS)}
    jpeg, at = seen.frames[-1]
    assert jpeg in served  # passed through, not decoded and encoded again
    assert_analysable(jpeg)
    assert abs(at - time.time()) < 1.0


def test_a_stalled_stream_is_reported_and_reconnected(mjpeg: MjpegServer, pulled: Any):
    """A camera that keeps its connection but sends nothing is 'stalled'; then read again."""
    cam, seen = pulled(mjpeg.url, fps=10, stall_s=1.0)
    until(lambda: cam.frames >= 3, "the first frames")
    mjpeg.stall()
    until(lambda: cam.faults >= 1, "the stall to be reported", timeout=5)
    assert seen.faults[0].startswith(SourceFault.STALLED)
    assert "no frame for 1 s" in seen.faults[0]
    before = cam.frames
    mjpeg.stall(on=False)
    until(lambda: cam.frames >= before + 3, "frames after the stall", timeout=10)
    assert cam.reconnects >= 1 and mjpeg.connections >= 2
    assert "frame" in seen.order[seen.order.index(seen.faults[0]) :]


def test_garbage_is_reported_and_the_stream_read_again(mjpeg: MjpegServer, pulled: Any):
    """A part that is not a JPEG is 'garbage', named; once the camera mends, frames come."""
    cam, seen = pulled(mjpeg.url, fps=10)
    until(lambda: cam.frames >= 2, "the first frames")
    mjpeg.garbage()
    until(lambda: cam.faults >= 1, "garbage to be reported", timeout=5)
    assert seen.faults[0].startswith(SourceFault.GARBAGE)
    assert "not a JPEG" in seen.faults[0]
    mjpeg.garbage(on=False)
    before = cam.frames
    until(lambda: cam.frames >= before + 3, "good frames again", timeout=10)
    assert cam.fault_counts.get(SourceFault.GARBAGE, 0) >= 1
    for jpeg, _at in seen.frames[before:]:
        assert_analysable(jpeg)


class UpperBound(random.Random):
    """A backoff's randomness that always takes the longest wait, and records it."""

    def __init__(self) -> None:
        super().__init__(0)
        self.bounds: list[float] = []

    def uniform(self, a: float, b: float) -> float:
        self.bounds.append(b)
        return b


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_url_nothing_answers_is_retried_with_capped_backoff(pulled: Any):
    """Each failed open is reported and the next waits twice as long, up to the cap."""
    rng = UpperBound()
    url = f"http://user:secret@127.0.0.1:{free_port()}/stream.mjpg"
    cam, seen = pulled(url, fps=5, backoff_base_s=0.05, backoff_max_s=0.2, rng=rng)
    until(lambda: cam.faults >= 5, "five failed opens")
    assert all(f.startswith(SourceFault.CANNOT_OPEN) for f in seen.faults)
    assert all("secret" not in f and "127.0.0.1" in f for f in seen.faults)
    assert rng.bounds[:5] == pytest.approx([0.05, 0.1, 0.2, 0.2, 0.2])
    assert cam.reconnects >= 4 and cam.frames == 0


def test_stop_returns_promptly_during_a_long_backoff(pulled: Any):
    """A reader waiting 30 s before its next try stops at once when asked."""
    url = f"rtsp://127.0.0.1:{free_port()}/live"
    cam, _seen = pulled(url, fps=5, backoff_base_s=30, backoff_max_s=30, rng=UpperBound())
    until(lambda: cam.faults >= 1, "the first failed open")
    began = time.monotonic()
    cam.stop(timeout=5)
    assert time.monotonic() - began < 1.0 and not cam.running
    assert cam.reconnects == 0


def test_stop_returns_in_time_while_a_read_is_blocked(pulled: Any):
    """Stopping a reader stuck on a silent camera returns within its timeout; the reader
    ends once the read does."""
    with MjpegServer(door_scene(fps=10.0), seconds=SECONDS) as server:
        cam, _seen = pulled(server.url, fps=10, stall_s=5.0)
        until(lambda: cam.frames >= 2, "the first frames")
        server.stall()
        time.sleep(0.3)  # the reader is now waiting in a read
        began = time.monotonic()
        cam.stop(timeout=0.5)
        assert time.monotonic() - began < 1.0
    until(lambda: not cam.running, "the reader to end when the camera hangs up", timeout=5)


def test_safe_source_hides_credentials():
    """A camera URL's user, password and query never reach a log; a file path is kept."""
    assert safe_source("rtsp://admin:pw@10.0.0.5:554/h264?token=x") == "rtsp://10.0.0.5:554/h264"
    assert safe_source("/var/cams/door.avi") == "/var/cams/door.avi"


@pytest.mark.parametrize("qos", [0, 1])
async def test_publish_scene_delivers_every_frame_in_order(broker: BrokerUnderTest, qos: int):
    """A scene published over the real broker arrives whole: every JPEG, in order."""
    base = f"isogate-{uuid.uuid4().hex[:8]}"
    scene = door_scene(fps=5.0)
    got: queue.Queue[bytes] = queue.Queue()
    with SimLink(broker.host, broker.port) as watcher:
        watcher.client.on_message = lambda _c, _u, msg: got.put(msg.payload)
        await subscribed(watcher, f"{base}/cam/door-cam/frame")
        began = time.monotonic()
        n = await asyncio.to_thread(
            publish_scene,
            broker.host,
            broker.port,
            "door-cam",
            scene,
            speed=4.0,
            qos=qos,
            base_topic=base,
            seconds=SECONDS,
        )
        took = time.monotonic() - began
        received = [await asyncio.to_thread(got.get, True, 5) for _ in range(n)]
    assert n == 10 and received == [jpeg for _t, jpeg in clip(scene.jpegs(), SECONDS)]
    assert took >= (n - 1) / scene.fps / 4.0  # paced, four times real time
    for jpeg in received:
        assert_analysable(jpeg)
