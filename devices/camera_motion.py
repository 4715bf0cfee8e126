"""Motion at the door: a pure detector over reduced grayscale frames, time given by the caller.

The pipeline follows Frigate's "improved" motion detector — a small grayscale frame, contrast
normalised, a running-average background, a threshold, dilation, and blobs over a minimum area,
recalibrated when most of the frame changes at once — and departs from it where a door camera
without an object detector behind it needs to:

* **Illumination-invariant difference.** Each frame is divided by a blurred copy of itself
  (a ratio image), so a light switched on, the auto exposure following it, or a soft shadow
  (all smooth multiplicative changes) cancel, while a body in front of the door (new edges,
  new reflectances) does not.
* **Noise-adaptive threshold.** The threshold follows the frame's typical temporal difference,
  so the IR night mode's grain and rain raise it instead of passing as motion.
* **Lighting events.** A change over a large share of the whole frame, a median pixel that
  changes well past the usual noise, or a jump in the mean brightness, is taken as lighting:
  the background is re-seeded until the picture settles, and no motion is reported meanwhile.
* **Person-like and sustained.** Only a compact blob of person-like size inside the door's
  region of interest counts, and only once it has persisted for ``min_duration_s``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from devices.camera import Gray, roi_mask

Floats = npt.NDArray[np.float32]
Blob = tuple[int, int, int, int, int]
"""A connected blob: left, top, width, height (analysed pixels), area."""


@dataclass(frozen=True, slots=True)
class MotionSettings:
    """Tuning of one camera's motion detector.

    Attributes:
        sensitivity: 1.0 by default; 2.0 halves the threshold and the minimum blob, 0.5
            doubles them (the site file's per-camera sensitivity).
        min_duration_s: how long a blob must persist before it is motion.
        min_frames: how many frames with a blob, at least, make motion.
        max_gap_s: a blob missing for longer than this ends the run.
        background_s: time constant of the running-average background.
        settle_s: after a lighting event, how long the picture must stay steady before
            motion is looked for again.
        lighting_share: share of the whole frame that, changing at once, is lighting.
    """

    sensitivity: float = 1.0
    min_duration_s: float = 0.5
    min_frames: int = 3
    max_gap_s: float = 0.35
    background_s: float = 6.0
    settle_s: float = 0.6
    lighting_share: float = 0.25

    def __post_init__(self) -> None:
        if not 0.1 <= self.sensitivity <= 10.0:
            raise ValueError(f"sensitivity {self.sensitivity} is outside 0.1–10")


@dataclass(frozen=True, slots=True)
class MotionVerdict:
    """What the detector made of one frame.

    Attributes:
        motion: someone is at the door: a person-like blob has persisted long enough.
        candidate: a person-like blob is in the door region in this frame.
        since: when the current run of blobs began (the caller's time), if there is one.
        box: the largest blob's box as fractions of the frame (left, top, right, bottom).
        share: the largest blob's area as a share of the region of interest.
        lighting: a lighting change (or the IR switch) is being absorbed; no motion meanwhile.
    """

    motion: bool
    candidate: bool = False
    since: float | None = None
    box: tuple[float, float, float, float] | None = None
    share: float = 0.0
    lighting: bool = False


# Thresholds in units of the ratio image (1.0 = the local mean brightness).
_BASE_THRESHOLD = 0.08
_NOISE_FACTOR = 4.0
_MIN_BLOB = 0.05  # of the region of interest, at sensitivity 1
_MIN_FILL = 0.3  # blob area over its box: a person, not a scatter of specks
_BRIGHTNESS_JUMP = 0.12  # relative change of the mean brightness from one frame to the next
_STEADY = 0.03
_SPREAD_FACTOR = 2.5  # median change over the frame's usual mean change: the whole frame moved
_SPREAD_FLOOR = 0.003


class MotionDetector:
    """Motion in a door's region of interest, frame by frame.

    State (background, noise level, the current run of blobs) lives in the object; feed it the
    frames of one camera in order, with their times.
    """

    def __init__(
        self,
        roi: Sequence[tuple[float, float]] | None = None,
        settings: MotionSettings | None = None,
    ) -> None:
        """A detector for one camera.

        Args:
            roi: the door's polygon as fractions of the frame (the site file's ``roi:``);
                None watches the whole frame.
            settings: tuning; the defaults suit a door camera at 5–25 frames/s.
        """
        self.roi = None if roi is None else tuple(roi)
        self.settings = settings or MotionSettings()
        self._shape: tuple[int, int] | None = None
        self._mask: Gray = np.zeros((0, 0), np.uint8)
        self._roi_area = 1
        self._bg: Floats = np.zeros((0, 0), np.float32)
        self._noise = 0.0
        self._mean = 0.0
        self._last_t = 0.0
        self._settled_at: float | None = None  # None: not in a lighting event
        self._run_start: float | None = None
        self._run_frames = 0
        self._last_blob_t = 0.0
        self._kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))

    def detect(self, frame: Gray, now: float) -> MotionVerdict:
        """Take one frame and say whether someone is at the door.

        Args:
            frame: the reduced grayscale frame (``AnalysisFrame.gray``).
            now: the frame's time in seconds, on any clock that does not go back.

        Returns:
            The verdict for this frame.
        """
        s = self.settings
        ratio = self._ratio(frame)
        mean = float(cv2.mean(frame)[0])
        if self._shape != frame.shape:
            self._reset(frame, ratio, mean, now)
            return MotionVerdict(motion=False, lighting=True)
        dt = min(max(now - self._last_t, 0.0), 5.0)
        self._last_t = now
        jump = abs(mean - self._mean) / max(self._mean, 8.0)
        self._mean = mean
        diff = cv2.absdiff(ratio, self._bg)
        typical = float(cv2.mean(diff)[0])
        threshold = max(_BASE_THRESHOLD / s.sensitivity, _NOISE_FACTOR * self._noise)
        fg = np.asarray(diff > threshold, np.uint8)
        changed = float(cv2.countNonZero(fg)) / fg.size

        # The median pixel's change ignores a body (a minority of the frame) but not a change
        # of the whole picture: the IR switch's new grain and gray levels, or a light.
        spread = float(np.median(diff[::3, ::3]))
        frame_wide = spread > _SPREAD_FACTOR * self._noise and spread > _SPREAD_FLOOR
        if jump > _BRIGHTNESS_JUMP or changed > s.lighting_share or frame_wide:
            self._settled_at = now + s.settle_s
        if self._settled_at is not None:
            # Lighting: follow the new picture, learn its noise, and report nothing.
            self._noise = max(0.5 * self._noise + 0.5 * typical, 0.0)
            self._bg = ratio
            if jump > _STEADY:
                self._settled_at = now + s.settle_s
            if now < self._settled_at:
                self._end_run()
                return MotionVerdict(motion=False, lighting=True)
            self._settled_at = None
            return MotionVerdict(motion=False, lighting=True)

        alpha = 1.0 - float(np.exp(-dt / s.background_s))
        cv2.accumulateWeighted(ratio, self._bg, alpha)
        # A person covers a small share of the frame: the frame's mean difference is noise.
        self._noise += min(alpha * 4.0, 1.0) * (typical - self._noise)

        # Open to drop specks (rain, grain), dilate to join a body's parts into one blob.
        inside = cv2.bitwise_and(fg, self._mask)
        opened = cv2.morphologyEx(inside, cv2.MORPH_OPEN, self._kernel)
        joined = cv2.dilate(opened, self._kernel, iterations=2)
        count, _, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
        blob = self._person_like(np.asarray(stats, np.int32)[1:count]) if count > 1 else None
        return self._track(blob, frame.shape, now)

    def _ratio(self, frame: Gray) -> Floats:
        f = cv2.GaussianBlur(frame.astype(np.float32), (5, 5), 0)
        k = max(3, frame.shape[0] // 8) | 1
        local = cv2.blur(f, (k, k))
        return np.asarray(cv2.divide(f + 6.0, local + 6.0), np.float32)

    def _reset(self, frame: Gray, ratio: Floats, mean: float, now: float) -> None:
        self._shape = (frame.shape[0], frame.shape[1])
        self._mask = roi_mask(self.roi, self._shape)
        self._roi_area = max(cv2.countNonZero(self._mask), 1)
        self._bg = ratio
        self._mean = mean
        self._noise = 0.0
        self._last_t = now
        self._settled_at = now + self.settings.settle_s
        self._end_run()

    def _person_like(self, stats: npt.NDArray[np.int32]) -> Blob | None:
        """The largest compact blob of person-like size, if any."""
        min_area = _MIN_BLOB * self._roi_area / self.settings.sensitivity
        best: Blob | None = None
        for row in stats.tolist():
            x, y, w, h, area = (int(v) for v in row)
            if area >= min_area and area >= _MIN_FILL * w * h and (best is None or area > best[4]):
                best = (x, y, w, h, area)
        return best

    def _track(self, blob: Blob | None, shape: tuple[int, ...], now: float) -> MotionVerdict:
        s = self.settings
        if blob is None:
            if self._run_start is not None and now - self._last_blob_t > s.max_gap_s:
                self._end_run()
            sustained = self._run_start is not None and self._sustained(now)
            return MotionVerdict(motion=sustained, since=self._run_start)
        if self._run_start is None:
            self._run_start = now
        self._run_frames += 1
        self._last_blob_t = now
        rows, cols = shape[0], shape[1]
        x, y, w, h, area = blob
        return MotionVerdict(
            motion=self._sustained(now),
            candidate=True,
            since=self._run_start,
            box=(x / cols, y / rows, (x + w) / cols, (y + h) / rows),
            share=area / self._roi_area,
        )

    def _sustained(self, now: float) -> bool:
        s = self.settings
        start = self._run_start
        return (
            start is not None
            and self._run_frames >= s.min_frames
            and now - start >= s.min_duration_s
        )

    def _end_run(self) -> None:
        self._run_start = None
        self._run_frames = 0
