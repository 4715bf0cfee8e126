"""Cameras the gateway pulls: an RTSP or HTTP MJPEG stream, or a video file, read with OpenCV.

Each camera is read in a daemon thread of its own, so that decoding, and a read that blocks on a
silent network camera, never hold up the asyncio loop; the thread hands each kept frame to a
callback as JPEG bytes with its wall time (the caller passes it on with
``loop.call_soon_threadsafe``). OpenCV's FFmpeg backend bounds opens and reads with
``CAP_PROP_OPEN_TIMEOUT_MSEC`` and ``CAP_PROP_READ_TIMEOUT_MSEC``, so a read that waits longer
than ``stall_s`` ends, and the camera is reported as stalled.

An MJPEG source (an ``http://`` MJPEG camera, an RTSP camera sending JPEG, an MJPG recording) is
read in OpenCV's raw mode (``CAP_PROP_FORMAT = -1``): each packet is the camera's own JPEG,
passed on unchanged, so nothing is decoded and re-encoded here, and a part that is not a JPEG is
named as garbage (decoded, FFmpeg would only fail the read). Any other codec (H.264 over RTSP, an
MP4 file) is decoded and each kept frame encoded with ``cv2.imencode``.

A live source is reconnected after every fault with capped full-jitter backoff; a video file is
a recording, played once in real time at its own frame rate, and its end is the fault "ended".
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from enum import StrEnum
from typing import NoReturn
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy as np

from devices.camera_jpeg import jpeg_size

_log = logging.getLogger(__name__)

# FOURCCs under which FFmpeg reports a stream of JPEG images.
_MJPEG_FOURCC = frozenset({"MJPG", "JPEG", "MJPA"})
# Frames on a live stream come with jitter: one this much early still counts as on time.
_EARLY = 0.2
# A failed read that took this share of the read timeout ended on the timeout.
_TIMED_OUT = 0.9


class SourceFault(StrEnum):
    """What went wrong with a pulled camera; every fault reason begins with one of these."""

    CANNOT_OPEN = "cannot open"
    STALLED = "stalled"
    ENDED = "ended"
    GARBAGE = "garbage"
    READ_FAILED = "read failed"


class _SourceError(Exception):
    """A fault of one session with the source: its kind and what happened."""

    def __init__(self, kind: SourceFault, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind


def is_live(source: str) -> bool:
    """Whether a camera source is a live stream (a URL) rather than a video file."""
    return "://" in source


def safe_source(source: str) -> str:
    """The source as it may be logged: a URL without its user, password or query."""
    if not is_live(source):
        return source
    parts = urlsplit(source)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class PulledCamera:
    """One camera read by the gateway in a thread: frames capped to a rate, faults reported.

    Args:
        camera_id: the camera's device id, for logs.
        source: an ``rtsp://`` or ``http://`` URL, or a video file path.
        fps: the most frames per second handed on; frames past it are skipped, never queued.
        on_frame: called from the thread with each kept frame: JPEG bytes and the wall time
            (seconds since the epoch) it was captured.
        on_fault: called from the thread with each fault's reason, which begins with a
            :class:`SourceFault` ("stalled: no frame for 10 s").
        stall_s: a live source with no frame for this long is stalled; also the open timeout.
        backoff_max_s: the longest wait between reconnects.
        jpeg_quality: JPEG quality for frames that are decoded and encoded here.
        backoff_base_s: the first reconnect waits up to this long, each further one up to twice
            as long as the one before.
        rng: randomness for the backoff (a seeded one in tests).

    Raises:
        ValueError: a rate, timeout or quality out of range.
    """

    def __init__(
        self,
        camera_id: str,
        source: str,
        *,
        fps: float,
        on_frame: Callable[[bytes, float], None],
        on_fault: Callable[[str], None],
        stall_s: float = 10.0,
        backoff_max_s: float = 30.0,
        jpeg_quality: int = 85,
        backoff_base_s: float = 0.5,
        rng: random.Random | None = None,
    ) -> None:
        if not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"camera {camera_id}: fps must be a positive number, not {fps}")
        if not stall_s > 0 or not backoff_max_s > 0 or not backoff_base_s > 0:
            raise ValueError(f"camera {camera_id}: stall and backoff times must be positive")
        if not 1 <= jpeg_quality <= 100:
            raise ValueError(f"camera {camera_id}: JPEG quality is 1–100, not {jpeg_quality}")
        self.camera_id = camera_id
        self.source = source
        self.fps = fps
        self.stall_s = stall_s
        self.jpeg_quality = jpeg_quality
        self._on_frame = on_frame
        self._on_fault = on_fault
        self._backoff = (backoff_base_s, backoff_max_s)
        self._rng = rng or random.Random()
        self._live = is_live(source)
        self._name = safe_source(source)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._frames = 0
        self._skipped = 0
        self._reconnects = 0
        self._fault_counts: Counter[SourceFault] = Counter()
        self._last_fault: str | None = None
        self._failures = 0  # faults since the last good frame: the backoff step
        self._outage_logged = False

    @property
    def frames(self) -> int:
        """Frames handed to ``on_frame``."""
        return self._frames

    @property
    def skipped(self) -> int:
        """Frames read and dropped to keep to ``fps``."""
        return self._skipped

    @property
    def faults(self) -> int:
        """Faults reported to ``on_fault``."""
        return sum(self._fault_counts.values())

    @property
    def fault_counts(self) -> dict[SourceFault, int]:
        """Faults reported, by kind."""
        return dict(self._fault_counts)

    @property
    def last_fault(self) -> str | None:
        """The reason of the latest fault, if any."""
        return self._last_fault

    @property
    def reconnects(self) -> int:
        """Opens tried after a fault."""
        return self._reconnects

    @property
    def running(self) -> bool:
        """Whether the reading thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Start reading in a daemon thread.

        Raises:
            RuntimeError: it was started before.
        """
        if self._thread is not None:
            raise RuntimeError(f"camera {self.camera_id}: already started")
        self._thread = threading.Thread(
            target=self._run, name=f"camera-source:{self.camera_id}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to stop and wait for it, at most ``timeout`` seconds.

        The thread releases the capture itself (releasing it under a read in progress is not
        safe). A read blocked on a silent camera ends within ``stall_s``; when that is longer
        than ``timeout``, this returns in time and the thread ends, and releases, on its own.
        """
        self._stop.set()
        if self._thread is None:
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            _log.warning(
                "camera %s: reader still in a blocking read; it ends within %g s",
                self.camera_id,
                self.stall_s,
            )

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:  # a bug here must not kill the process through its thread
            _log.exception("camera %s: reader failed", self.camera_id)
            self._fault(_SourceError(SourceFault.READ_FAILED, "internal error (logged)"))

    def _loop(self) -> None:
        first = True
        while not self._stop.is_set():
            if not first:
                self._reconnects += 1
            first = False
            try:
                self._session()
                return  # asked to stop
            except _SourceError as fault:
                self._fault(fault)
            except (cv2.error, OSError, ValueError) as exc:
                self._fault(_SourceError(SourceFault.READ_FAILED, f"{type(exc).__name__}: {exc}"))
            if not self._live:
                return  # a recording is played once
            self._failures += 1
            base, cap = self._backoff
            delay = self._rng.uniform(0.0, min(cap, base * 2.0 ** min(self._failures - 1, 30)))
            if self._stop.wait(delay):
                return

    def _session(self) -> None:
        """Open the source and read it until a fault (raised) or a stop (returns)."""
        ms = round(self.stall_s * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        cap = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG, params)
        try:
            if not cap.isOpened():
                why = (
                    "no answer, refused, or not a video stream"
                    if self._live
                    else "missing, unreadable or not a video"
                )
                raise _SourceError(SourceFault.CANNOT_OPEN, f"{self._name} ({why})")
            fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
            tag = fourcc.to_bytes(4, "little").decode("latin-1").upper()
            raw = tag in _MJPEG_FOURCC and cap.set(cv2.CAP_PROP_FORMAT, -1)
            _log.info(
                "camera %s: reading %s (%s, %s)",
                self.camera_id,
                self._name,
                tag.strip("\x00") or "?",
                "JPEG passed through" if raw else "decoded",
            )
            self._read(cap, raw)
        finally:
            cap.release()

    def _read(self, cap: cv2.VideoCapture, raw: bool) -> None:
        period = 1.0 / self.fps
        start_wall, start_mono = time.time(), time.monotonic()
        file_fps = cap.get(cv2.CAP_PROP_FPS)
        count = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        next_due = -math.inf
        index = 0
        while not self._stop.is_set():
            began = time.monotonic()
            if not cap.grab():
                self._read_failed(time.monotonic() - began, index, count)
            index += 1
            if self._live:
                mono, wall = time.monotonic(), time.time()
            else:
                pos = cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if not (math.isfinite(pos) and pos >= 0):
                    pos = (index - 1) / file_fps if file_fps > 0 else 0.0
                mono, wall = start_mono + pos, start_wall + pos
                if self._stop.wait(max(0.0, mono - time.monotonic())):
                    return  # played in real time: wait for the frame's moment
            if mono < next_due - _EARLY * period:
                self._skipped += 1
                continue
            next_due = next_due + period if next_due + period > mono else mono + period
            ok, image = cap.retrieve()
            jpeg = self._packet_jpeg(ok, image) if raw else self._encode(ok, image)
            self._delivered(jpeg, wall)

    def _read_failed(self, waited: float, index: int, count: float) -> NoReturn:
        """Raise the fault a failed read means: the end of a file, a stall, or a broken stream."""
        if not self._live:
            if count > 0 and index + 1 < count:
                detail = f"{self._name} could not be read past frame {index} of {count:.0f}"
            else:
                detail = f"{self._name} played to its end ({index} frames)"
            raise _SourceError(SourceFault.ENDED, detail)
        if waited >= _TIMED_OUT * self.stall_s:
            detail = f"no frame for {self.stall_s:g} s from {self._name}"
            raise _SourceError(SourceFault.STALLED, detail)
        raise _SourceError(
            SourceFault.READ_FAILED,
            f"{self._name} ended its stream or sent a frame that could not be decoded",
        )

    @staticmethod
    def _packet_jpeg(ok: bool, packet: np.ndarray | None) -> bytes:
        """The camera's JPEG from a raw MJPEG packet, or GARBAGE with what is wrong with it."""
        if not ok or packet is None or packet.size == 0:
            raise _SourceError(SourceFault.GARBAGE, "an empty packet")
        jpeg = packet.tobytes()
        try:
            jpeg_size(jpeg)
        except ValueError as exc:
            raise _SourceError(SourceFault.GARBAGE, f"{exc}; {len(jpeg)} bytes") from None
        if not jpeg.rstrip(b"\x00").endswith(b"\xff\xd9"):
            raise _SourceError(SourceFault.GARBAGE, "JPEG truncated (no end-of-image marker)")
        return jpeg

    def _encode(self, ok: bool, image: np.ndarray | None) -> bytes:
        """A decoded frame as JPEG, or GARBAGE when the decoder gave no usable image."""
        if not ok or image is None or image.size == 0 or image.ndim not in (2, 3):
            raise _SourceError(SourceFault.GARBAGE, "the decoder returned no usable image")
        if image.dtype != np.uint8:
            image = cv2.convertScaleAbs(image)
        done, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not done:
            raise _SourceError(SourceFault.GARBAGE, f"a {image.shape} frame could not be encoded")
        return buf.tobytes()

    def _delivered(self, jpeg: bytes, wall: float) -> None:
        self._failures = 0
        self._frames += 1
        if self._outage_logged:
            _log.warning("camera %s: %s recovered", self.camera_id, self._name)
            self._outage_logged = False
        try:
            self._on_frame(jpeg, wall)
        except Exception:  # the caller's fault: logged, and the camera goes on
            _log.exception("camera %s: on_frame failed", self.camera_id)

    def _fault(self, fault: _SourceError) -> None:
        reason = str(fault)
        self._fault_counts[fault.kind] += 1
        self._last_fault = reason
        if fault.kind is SourceFault.ENDED:
            _log.info("camera %s: %s", self.camera_id, reason)
        elif not self._live:
            _log.warning("camera %s: %s", self.camera_id, reason)
        elif not self._outage_logged:
            _log.warning("camera %s: %s; retrying", self.camera_id, reason)
            self._outage_logged = True
        else:
            _log.debug("camera %s: still failing: %s", self.camera_id, reason)
        try:
            self._on_fault(reason)
        except Exception:
            _log.exception("camera %s: on_fault failed", self.camera_id)
