"""The recent frames of one camera, kept so that evidence can begin before its alert.

A door alert wants the seconds before it (``evidence_before_s``), and a door opening is matched
with motion up to ``camera_window_s`` away, so two horizons are kept: every frame of the last
``dense_s``, and older than that only frames that showed motion, back to ``keep_s``: the only
older frames a capture takes (:mod:`gateway.camera.captures`). Both are bounded in bytes, oldest
dropped first, so a camera with a 4K stream costs no more memory than its byte bound.

(Older frames without motion were kept too, one a second, though no capture took them: at one
frame a second that was 26 frames a camera where 8 serve, 1.2 MB of a 640×480 stream.)
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

DEFAULT_MAX_BYTES = 6 * 1024 * 1024
"""Bytes of JPEG kept per camera: about 12 s of a 640×480 stream at 10 frames/s."""


@dataclass(frozen=True, slots=True)
class Kept:
    """A frame as kept: when it was taken (epoch seconds), the JPEG, and its motion score."""

    t: float
    jpeg: bytes = field(repr=False)
    score: float = 0.0


class PreRoll:
    """A camera's recent frames, bounded in time and bytes; safe across threads."""

    def __init__(self, dense_s: float, keep_s: float, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        """Keep every frame for ``dense_s`` and motion for ``keep_s``, at most ``max_bytes``."""
        self.dense_s = dense_s
        self.keep_s = max(keep_s, dense_s)
        self.max_bytes = max_bytes
        self._dense: deque[Kept] = deque()
        self._motion: deque[Kept] = deque()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        """Bytes held."""
        return self._bytes

    def add(self, frame: Kept) -> None:
        """Keep a frame (frames come in time order); drop what fell out of the horizons."""
        with self._lock:
            self._dense.append(frame)
            self._bytes += len(frame.jpeg)
            while self._dense and self._dense[0].t < frame.t - self.dense_s:
                old = self._dense.popleft()
                if old.score > 0:
                    self._motion.append(old)
                else:
                    self._bytes -= len(old.jpeg)
            while self._motion and self._motion[0].t < frame.t - self.keep_s:
                self._bytes -= len(self._motion.popleft().jpeg)
            while self._bytes > self.max_bytes and (self._motion or len(self._dense) > 1):
                old = self._motion.popleft() if self._motion else self._dense.popleft()
                self._bytes -= len(old.jpeg)

    def between(self, start: float, end: float) -> list[Kept]:
        """The frames kept from ``start`` to ``end`` (epoch seconds), oldest first."""
        with self._lock:
            return [f for f in self._all() if start <= f.t <= end]

    def latest(self) -> Kept | None:
        """The newest frame, if any."""
        with self._lock:
            return self._dense[-1] if self._dense else None

    def _all(self) -> Iterator[Kept]:
        yield from self._motion
        yield from self._dense
