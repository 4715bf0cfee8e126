"""One camera's frames turned into events: motion runs, tamper, and now and then a summary.

An analyser is fed one camera's JPEG frames in time order, from a worker thread (never the event
loop). Each frame is checked and decoded at reduced size (``devices.camera``), given to the
motion and tamper detectors, and kept in the pre-roll for evidence. What leaves the analyser is
what changed: a motion run began or ended, tamper began or ended, the first good frame and a
summary every ``summary_s`` (the camera's sign of life), a bad frame's reason (at most one per
``bad_report_s``, with the count of those not reported), and, when only bad frames have come for
``bad_only_s``, a summary with no good frame, which the rules report to the technician.

The tamper reference is taken from the camera's first good frame and kept in a file, so a
restart does not learn a covered lens as the normal view; delete the file to take it again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from devices.camera import AnalysisFrame, decode_for_analysis
from devices.camera_motion import MotionDetector, MotionSettings
from devices.camera_tamper import TamperDetector, TamperKind
from devices.events import (
    CameraTamperEvent,
    DeviceRef,
    Event,
    FrameEvent,
    MotionEvent,
)
from gateway.camera.preroll import Kept, PreRoll
from rules.site import Device

log = logging.getLogger("isogate.camera")

# The hub analyses frames on threads of its own, one frame per thread; OpenCV's pool splitting
# each small frame's work again over the same two cores only added hand-offs. With one thread
# per call the gateway used about 20 % less CPU under 50 cameras at 1 frame/s (1,000 households,
# 60 s of the load generator: 14.2–15.5 → 11.6–11.9 CPU s).
cv2.setNumThreads(1)


@dataclass(slots=True)
class Findings:
    """What one frame led to.

    Attributes:
        events: events for the pipeline, in order.
        rejected: reasons to keep in the rejected list.
        kept: the frame as kept for evidence (None for a bad frame).
    """

    events: list[Event] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    kept: Kept | None = None


@dataclass(frozen=True, slots=True)
class Timing:
    """How often an analyser speaks.

    Attributes:
        summary_s: a summary of good frames this often (the camera's sign of life).
        bad_report_s: at most one bad frame's reason per this many seconds.
        bad_only_s: only bad frames for this long, and the camera is reported.
    """

    summary_s: float = 30.0
    bad_report_s: float = 10.0
    bad_only_s: float = 30.0


class CameraAnalyser:
    """Motion, tamper and health of one camera, from its frames."""

    def __init__(
        self,
        device: Device,
        preroll: PreRoll,
        *,
        reference: Path | None = None,
        timing: Timing | None = None,
    ) -> None:
        """An analyser for a bound camera.

        Args:
            device: the camera as bound in the site file (roi, sensitivity).
            preroll: where good frames are kept for evidence.
            reference: the file holding the tamper reference (created from the first frame).
            timing: how often to summarise and report.
        """
        self.device = device
        self.ref = DeviceRef(device.protocol, device.wire_address())
        self.preroll = preroll
        self.reference = reference
        self.timing = timing or Timing()
        self.motion = MotionDetector(device.roi, MotionSettings(sensitivity=device.sensitivity))
        self.tamper = TamperDetector()
        self.lock = threading.Lock()  # one frame at a time, whichever thread runs it
        self._moving = False
        self._tampered: TamperKind | None = None
        self._t = 0.0  # the detectors' clock never goes back
        self._summary_at: float | None = None
        self._good = 0
        self._bad = 0
        self._bad_since: float | None = None  # first bad frame after the last good one
        self._bad_reported_at: float | None = None
        self._unreported = 0
        self._bad_only_at: float | None = None
        self._last_fault: str | None = None
        self._last_size = (0, 0, 0)

    def analyse(self, jpeg: bytes, t: float) -> Findings:
        """Take one frame.

        Args:
            jpeg: the frame as received.
            t: when it was taken, epoch seconds.

        Returns:
            What changed.
        """
        with self.lock:
            out = Findings()
            frame = decode_for_analysis(jpeg)
            if not isinstance(frame, AnalysisFrame):
                self._bad_frame(frame.reason, t, out)
                return out
            self._good_frame(frame, jpeg, t, out)
            return out

    # --- good frames --------------------------------------------------------------------------

    def _good_frame(self, frame: AnalysisFrame, jpeg: bytes, t: float, out: Findings) -> None:
        self._t = now = max(self._t, t)
        if not self.tamper.has_reference:
            self._load_reference(frame)
        verdict = self.motion.detect(frame.gray, now)
        tamper = self.tamper.check(frame.gray, now)
        score = verdict.share if verdict.candidate else 0.0
        out.kept = Kept(t, jpeg, score)
        self.preroll.add(out.kept)
        self._good += 1
        self._last_size = (len(jpeg), frame.width, frame.height)
        first = self._summary_at is None
        if (
            first
            or self._bad_only_at is not None
            or t - (self._summary_at or t) >= self.timing.summary_s
        ):
            out.events.append(self._summary(t))
        self._bad_since = self._bad_only_at = None
        if verdict.motion != self._moving:
            self._moving = verdict.motion
            since = verdict.since if verdict.motion and verdict.since is not None else t
            out.events.append(
                MotionEvent(
                    device=self.ref,
                    ts=_time(min(since, t)),
                    active=verdict.motion,
                    score=round(verdict.share, 4) if verdict.motion else None,
                    box=verdict.box if verdict.motion else None,
                )
            )
        if tamper.tamper != self._tampered:
            self._tampered = tamper.tamper
            since = tamper.since if tamper.tamper is not None and tamper.since else t
            out.events.append(
                CameraTamperEvent(
                    device=self.ref,
                    ts=_time(min(since, t)),
                    tamper=tamper.tamper is not None,
                    fault=tamper.tamper,
                )
            )

    def _summary(self, t: float) -> FrameEvent:
        size, width, height = self._last_size
        event = FrameEvent(
            device=self.ref,
            ts=_time(t),
            size=size,
            width=width,
            height=height,
            frames=self._good,
            bad=self._bad,
            fault=self._last_fault if self._good == 0 else None,
        )
        self._summary_at = t
        self._good = self._bad = 0
        return event

    def _load_reference(self, frame: AnalysisFrame) -> None:
        """The stored reference when it fits this camera's frames; else this frame, stored."""
        path = self.reference
        if path is not None and path.exists():
            stored = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
            if stored is not None and stored.shape == frame.gray.shape:
                self.tamper.set_reference(np.asarray(stored, np.uint8))
                return
            log.warning(
                "camera %s: reference %s does not fit its frames; taking a new one",
                self.device.id,
                path,
            )
        self.tamper.set_reference(frame.gray)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp.png")
                cv2.imwrite(str(tmp), frame.gray)
                tmp.replace(path)
            except OSError as exc:
                log.error("camera %s: cannot keep its reference: %s", self.device.id, exc)

    # --- bad frames ---------------------------------------------------------------------------

    def _bad_frame(self, reason: str, t: float, out: Findings) -> None:
        self._bad += 1
        self._last_fault = reason
        if self._bad_since is None:
            self._bad_since = t
        reported = self._bad_reported_at
        if reported is None or t - reported >= self.timing.bad_report_s or t < reported:
            more = f" ({self._unreported} more bad frames not listed)" if self._unreported else ""
            out.rejected.append(f"camera {self.device.id}: bad frame: {reason}{more}")
            self._bad_reported_at = t
            self._unreported = 0
        else:
            self._unreported += 1
        if t - self._bad_since >= self.timing.bad_only_s:
            last = self._bad_only_at
            if last is None or t - last >= self.timing.summary_s:
                out.events.append(self._summary(t))
                self._bad_only_at = t


def _time(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)
