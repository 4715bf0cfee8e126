"""Camera feeds of the synthetic scenes: a video file, an HTTP MJPEG camera, frames over MQTT.

The same :class:`~simulators.camera.Scene` reaches the gateway three ways, as real cameras send
it: written as an MJPG ``.avi`` recording (a ``source:`` file), served as
``multipart/x-mixed-replace`` MJPEG over HTTP like a cheap IP camera (a ``source:`` URL), or
published one JPEG per message on ``<base>/cam/<camera_id>/frame`` (SPEC §2.4). The HTTP camera
can be told to stall (keep the connection, send nothing) or to send garbage (parts that are not
JPEG), the two ways real streams go bad.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import takewhile
from pathlib import Path
from typing import Any, TypeVar

import cv2

from simulators._lifetime import StartStop
from simulators.camera import H, Scene, SceneKind, W, make_scene
from simulators.link import SimLink

_T = TypeVar("_T")

GARBAGE = bytes(range(256)) * 16
"""What a broken camera sends instead of a JPEG: 4 KiB that start with no JPEG marker."""


def clip(frames: Iterable[tuple[float, _T]], seconds: float | None) -> Iterator[tuple[float, _T]]:
    """The frames of a scene's first ``seconds`` (all of them for None)."""
    return iter(frames) if seconds is None else takewhile(lambda f: f[0] < seconds, frames)


def write_video(
    scene: Scene, path: Path | str, *, fourcc: str = "MJPG", seconds: float | None = None
) -> int:
    """Write a scene as a video file at its own frame rate (MJPG in an ``.avi`` by default).

    Args:
        scene: the scene.
        path: the file to write (its suffix picks the container).
        fourcc: the codec's four characters (``mp4v`` in an ``.mp4`` for a decoded source).
        seconds: write only the scene's first seconds.

    Returns:
        How many frames were written.

    Raises:
        OSError: OpenCV cannot write that file with that codec.
    """
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*fourcc), scene.fps, (W, H))
    if not writer.isOpened():
        raise OSError(f"cannot write {path} as {fourcc} video")
    count = 0
    try:
        for _t, image in clip(scene.frames(), seconds):
            writer.write(image)
            count += 1
    finally:
        writer.release()
    return count


class MjpegServer(StartStop):
    """An HTTP MJPEG camera on 127.0.0.1 streaming a scene at its real pace.

    Every GET gets the stream from the scene's first frame; with ``repeat`` the scene plays
    again and again, like a live camera. Switches, for any time, apply to every connection:
    :meth:`stall` keeps the connections open and sends nothing; :meth:`garbage` sends
    :data:`GARBAGE` in place of each JPEG.

    Args:
        scene: the scene to stream.
        port: the port to listen on; 0 takes a free one.
        quality: JPEG quality.
        repeat: play the scene in a loop rather than once.
        boundary: the multipart boundary.
        seconds: play only the scene's first seconds.
    """

    def __init__(
        self,
        scene: Scene,
        *,
        port: int = 0,
        quality: int = 80,
        repeat: bool = True,
        boundary: str = "isogateframe",
        seconds: float | None = None,
    ) -> None:
        self.scene = scene
        self.seconds = seconds
        self.quality = quality
        self.repeat = repeat
        self.boundary = boundary
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        self._stalled = threading.Event()
        self._garbage = threading.Event()
        self._lock = threading.Lock()
        self.connections = 0
        """Stream requests answered so far."""
        self.sent = 0
        """Parts sent so far, JPEG or garbage, over all connections."""

    @property
    def port(self) -> int:
        """The port listened on (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the MJPEG server is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The stream's URL."""
        return f"http://127.0.0.1:{self.port}/stream.mjpg"

    def start(self) -> str:
        """Listen and serve in a thread; returns the stream's URL."""
        self._closing.clear()
        self._server = _Server(("127.0.0.1", self._port), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="mjpeg-server", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Close every connection and stop listening; returns once all is closed."""
        server, self._server = self._server, None
        if server is None:
            return
        self._closing.set()
        server.shutdown()
        server.close_connections()
        server.server_close()  # joins the connections' threads
        if self._thread is not None:
            self._thread.join(5)

    def stall(self, on: bool = True) -> None:
        """Stop sending (keeping every connection open), or go on again."""
        (self._stalled.set if on else self._stalled.clear)()

    def garbage(self, on: bool = True) -> None:
        """Send garbage in place of each JPEG, or JPEGs again."""
        (self._garbage.set if on else self._garbage.clear)()

    def _stream(self, out: io.BufferedIOBase) -> None:
        """Write the scene to one client at its pace until it ends, the client goes or we stop."""
        with self._lock:
            self.connections += 1
        period = 1.0 / self.scene.fps
        due = time.monotonic()
        while True:
            for _t, jpeg in clip(self.scene.jpegs(self.quality), self.seconds):
                turn = self._wait_turn(due)
                if turn is None:
                    return
                body = GARBAGE if self._garbage.is_set() else jpeg
                head = f"--{self.boundary}\r\nContent-Type: image/jpeg\r\n"
                head += f"Content-Length: {len(body)}\r\n\r\n"
                out.write(head.encode("ascii") + body + b"\r\n")
                out.flush()
                with self._lock:
                    self.sent += 1
                due = turn + period
            if not self.repeat:
                return

    def _wait_turn(self, due: float) -> float | None:
        """Wait until ``due`` (later while stalled); the time sent at, or None when stopping."""
        while not self._closing.is_set():
            now = time.monotonic()
            if self._stalled.is_set():
                due = now  # after a stall the stream goes on from now, without a burst
                self._closing.wait(0.05)
            elif now >= due:
                return due
            else:
                self._closing.wait(min(0.05, due - now))
        return None


class _Server(ThreadingHTTPServer):
    """The HTTP server of an :class:`MjpegServer`; knows its open connections to close them."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], handler: Any, feed: MjpegServer) -> None:
        self.feed = feed
        self.open: set[socket.socket] = set()
        self.open_lock = threading.Lock()
        super().__init__(address, handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, addr = super().get_request()
        with self.open_lock:
            self.open.add(conn)
        return conn, addr

    def shutdown_request(self, request: Any) -> None:
        with self.open_lock:
            self.open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut every open connection down, which ends a write blocked on a slow reader."""
        with self.open_lock:
            conns = list(self.open)
        for conn in conns:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # the stream ends when the connection does

    def do_GET(self) -> None:
        self.send_response(200)
        ctype = f"multipart/x-mixed-replace; boundary={self.server.feed.boundary}"
        self.send_header("Content-Type", ctype)
        self.send_header("Cache-Control", "no-cache, no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        with contextlib.suppress(OSError):  # the client went away, or the server is stopping
            self.server.feed._stream(self.wfile)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a camera does not log its viewers."""


def publish_scene(
    host: str,
    port: int,
    camera_id: str,
    scene: Scene,
    *,
    speed: float = 1.0,
    qos: int = 0,
    base_topic: str = "isogate",
    quality: int = 80,
    seconds: float | None = None,
) -> int:
    """Publish a scene's JPEGs on ``<base_topic>/cam/<camera_id>/frame`` at the scene's pace.

    Args:
        host: the broker's host.
        port: the broker's port.
        camera_id: the camera's device id.
        scene: the scene.
        speed: how much faster than real time (2 plays a 10 s scene in 5 s).
        qos: the MQTT QoS; at 1 or 2 each frame waits for the broker's acknowledgement.
        base_topic: the gateway's base topic.
        quality: JPEG quality.
        seconds: publish only the scene's first seconds.

    Returns:
        How many frames were published.

    Raises:
        ValueError: a speed that is not positive.
        TimeoutError: the broker did not take a frame within 10 s.
    """
    if not speed > 0:
        raise ValueError(f"speed must be positive, not {speed}")
    topic = f"{base_topic}/cam/{camera_id}/frame"
    count = 0
    with SimLink(host, port) as link:
        start = time.monotonic()
        for t, jpeg in clip(scene.jpegs(quality), seconds):
            delay = start + t / speed - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            info = link.publish(topic, jpeg, qos=qos)
            if qos == 0:  # at QoS 0 "published" means written to the socket
                info.wait_for_publish(10)
                if not info.is_published():
                    raise TimeoutError(f"frame {count} on {topic} not sent within 10 s")
            count += 1
    return count


def _scene(args: argparse.Namespace) -> Scene:
    return make_scene(SceneKind(args.kind), args.seed, fps=args.fps)


def _describe(scene: Scene) -> Iterator[str]:
    truth = scene.truth
    yield f"scene {scene.kind.value} seed {scene.seed}: {scene.duration_s:.1f} s, {scene.fps:g} fps"
    yield f"truth: door activity {truth.door_activity}, tamper {truth.tamper or '-'}"


def main(argv: list[str] | None = None) -> int:
    """Write, serve or publish a synthetic door scene by hand."""
    parser = argparse.ArgumentParser(description="Simulated door camera")
    parser.add_argument("what", choices=["write", "serve", "publish"])
    parser.add_argument("--kind", choices=[k.value for k in SceneKind], default="visit")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=None, help="only the first seconds")
    parser.add_argument("--out", default="scene.avi", help="write: the video file")
    parser.add_argument("--host", default="127.0.0.1", help="publish: the broker")
    parser.add_argument("--port", type=int, default=None, help="broker port, or HTTP port")
    parser.add_argument("--camera", default="cam-1", help="publish: the camera's device id")
    parser.add_argument("--base-topic", default="isogate")
    parser.add_argument("--speed", type=float, default=1.0)
    args = parser.parse_args(argv)
    scene = _scene(args)
    for line in _describe(scene):
        print(line, flush=True)
    if args.what == "write":
        n = write_video(scene, args.out, seconds=args.seconds)
        print(f"wrote {n} frames to {args.out}", flush=True)
    elif args.what == "publish":
        n = publish_scene(
            args.host,
            args.port or 1883,
            args.camera,
            scene,
            speed=args.speed,
            base_topic=args.base_topic,
            seconds=args.seconds,
        )
        print(f"published {n} frames on {args.base_topic}/cam/{args.camera}/frame", flush=True)
    else:
        with MjpegServer(scene, port=args.port or 0, seconds=args.seconds) as server:
            print(f"serving {server.url} (Ctrl-C to stop)", flush=True)
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
