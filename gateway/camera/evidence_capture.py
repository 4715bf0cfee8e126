"""The writing side of an alert's evidence: frames kept one by one, each time a valid manifest.

Every file is written to a temporary name, flushed to disk and renamed into place, and the
manifest is rewritten the same way after each frame, so a gateway killed at any moment leaves a
valid manifest of what is on disk (status ``capturing``) and never a half-written frame under a
name the manifest gives. The I/O blocks: callers on the event loop use ``asyncio.to_thread``.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from devices.camera_jpeg import MAX_JPEG_BYTES, jpeg_size
from gateway.camera.evidence_manifest import (
    CaptureStatus,
    EvidenceFrame,
    FrameRefusedError,
    Manifest,
    frame_name,
    is_camera_id,
)
from gateway.clock import Clock

MANIFEST = "manifest.json"
MAX_FRAMES = 200
"""Frames kept per alert at most: 15 s of evidence at 10 fps from one camera is 150."""
MAX_FRAME_BYTES = MAX_JPEG_BYTES
"""Largest frame kept: the largest the camera decoder accepts (8 MiB)."""
MAX_CAPTURE_BYTES = 256 * 1024**2
"""Bytes kept per alert at most, whatever the frames' sizes."""
MAX_BYTES = 2 * 1024**3
"""Default bound on all evidence together; ``prune`` removes the oldest alerts' beyond it."""


@dataclass(frozen=True, slots=True)
class Limits:
    """What one alert's evidence may hold (see the module constants for the defaults)."""

    max_frames: int = MAX_FRAMES
    max_frame_bytes: int = MAX_FRAME_BYTES
    max_capture_bytes: int = MAX_CAPTURE_BYTES


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path`` all at once: a temporary file, flushed, then renamed."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _sync_dir(path: Path) -> None:
    """Flush a directory's entries (the renames in it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Capture:
    """The evidence of one alert while frames are added; made by :meth:`EvidenceStore.open`.

    Bounds (refused with :class:`FrameRefusedError`): at most ``max_frames`` frames (default 200)
    and ``max_capture_bytes`` bytes (default 256 MiB) per alert, at most ``max_frame_bytes``
    (default 8 MiB) per frame, only JPEGs, only frames taken from ``before_s`` before the alert
    to ``after_s`` after it, and none once closed.
    """

    def __init__(
        self,
        directory: Path,
        manifest: Manifest,
        *,
        limits: Limits,
        clock: Clock,
        on_close: Callable[[Capture], None],
    ) -> None:
        self._dir = directory
        self._limits = limits
        self._clock = clock
        self._on_close = on_close
        self._manifest = manifest
        self._lock = threading.Lock()

    @property
    def alert_id(self) -> str:
        """The alert this evidence belongs to."""
        return self._manifest.alert_id

    @property
    def household_id(self) -> str:
        """The alert's household."""
        return self._manifest.household

    @property
    def since(self) -> datetime:
        """The earliest time of a frame kept."""
        return self._manifest.raised_at - timedelta(seconds=self._manifest.before_s)

    @property
    def until(self) -> datetime:
        """The latest time of a frame kept: close the capture after it."""
        return self._manifest.raised_at + timedelta(seconds=self._manifest.after_s)

    @property
    def closed(self) -> bool:
        """Whether the capture is complete (frames are refused)."""
        return self._manifest.status is CaptureStatus.COMPLETE

    @property
    def manifest(self) -> Manifest:
        """The manifest as last written."""
        return self._manifest

    def wants(self, t: datetime) -> bool:
        """Whether a frame taken at ``t`` falls in this capture's window (and it is open)."""
        return not self.closed and self.since <= t <= self.until

    def add(self, camera_id: str, t: datetime, jpeg: bytes, score: float = 0.0) -> EvidenceFrame:
        """Keep one frame: its file now, then the manifest naming it.

        The same bytes from the same camera at the same millisecond are kept once (a repeat
        returns the frame already kept).

        Args:
            camera_id: The camera's id in the site file.
            t: When the camera took the frame (aware).
            jpeg: The full frame as the camera sent it.
            score: How much the frame shows (e.g. motion inside the door region); the highest
                is the alert's snapshot.

        Returns:
            The frame as the manifest records it.

        Raises:
            FrameRefusedError: The frame breaks a bound of the class docstring; nothing was written.
        """
        sha = hashlib.sha256(jpeg).hexdigest()
        with self._lock:
            m = self._manifest
            self._check(camera_id, t, jpeg, score)
            ms = round(t.timestamp() * 1000)
            for f in m.frames:
                if (f.camera, f.sha256, round(f.t.timestamp() * 1000)) == (camera_id, sha, ms):
                    return f
            names = {f.file for f in m.frames}
            try:
                name = frame_name(camera_id, t, names)
            except ValueError as exc:
                raise FrameRefusedError(m.alert_id, camera_id, str(exc)) from None
            write_atomic(self._dir / name, jpeg)
            frame = EvidenceFrame(
                file=name, camera=camera_id, t=t, sha256=sha, bytes=len(jpeg), score=score
            )
            self.save(m.with_frames([*m.frames, frame], CaptureStatus.CAPTURING, self._now()))
            return frame

    def _check(self, camera_id: str, t: datetime, jpeg: bytes, score: float) -> None:
        m = self._manifest

        def refuse(reason: str) -> FrameRefusedError:
            return FrameRefusedError(m.alert_id, camera_id, reason)

        if self.closed:
            raise refuse("the capture is complete")
        if not is_camera_id(camera_id):
            raise refuse("not a camera id")
        if t.tzinfo is None:
            raise refuse("the frame's time has no timezone")
        if not self.since <= t <= self.until:
            raise refuse(
                f"taken at {t.isoformat()}, outside {self.since.isoformat()}"
                f" – {self.until.isoformat()}"
            )
        if not math.isfinite(score):
            raise refuse(f"score {score} is not a number")
        if len(jpeg) > self._limits.max_frame_bytes:
            raise refuse(f"{len(jpeg)} bytes, over {self._limits.max_frame_bytes}")
        try:
            jpeg_size(jpeg)
        except ValueError as exc:
            raise refuse(str(exc)) from None
        if len(m.frames) >= self._limits.max_frames:
            raise refuse(f"already {len(m.frames)} frames, the most kept per alert")
        kept = sum(f.bytes for f in m.frames)
        if kept + len(jpeg) > self._limits.max_capture_bytes:
            raise refuse(f"{kept} bytes kept, {len(jpeg)} more would pass the bound")

    def close(self) -> Manifest:
        """Mark the evidence complete (again: no change) and return its manifest."""
        with self._lock:
            if not self.closed:
                m = self._manifest
                self.save(m.with_frames(m.frames, CaptureStatus.COMPLETE, self._now()))
                _sync_dir(self._dir)
            self._on_close(self)
            return self._manifest

    def save(self, manifest: Manifest) -> None:
        """Write ``manifest`` as this capture's (atomically) and hold it."""
        write_atomic(self._dir / MANIFEST, manifest.model_dump_json(indent=1).encode())
        self._manifest = manifest

    def _now(self) -> datetime:
        return self._clock.now()
