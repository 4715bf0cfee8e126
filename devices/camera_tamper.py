"""Camera tamper: a covered lens, a defocused lens, a camera turned away. Pure; time as argument.

The detector compares each frame with a reference taken at commissioning (the first frame it is
given, or one set explicitly):

* **covered**: the picture collapses — almost no spread of brightness (low standard deviation)
  and few gray levels in use (low entropy), whatever its mean;
* **defocused**: the fine detail is gone — the Laplacian's variance relative to the frame's own
  contrast falls far below the reference's (relative, so lighting does not move it);
* **moved**: the static scene no longer lines up — the normalised correlation of the blurred
  edge maps of frame and reference falls low (edges, so lighting and IR do not move it; a
  person in front of the door hides only part of them).

Each is reported only once it has held for ``hold_s``, so a hand passing or a door opening in
front of the lens is not tamper.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from devices.camera import Gray
from devices.events import CameraFault as TamperKind  # re-exported: the detector's verdicts

__all__ = ["TamperDetector", "TamperKind", "TamperScores", "TamperSettings", "TamperVerdict"]

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class TamperSettings:
    """Tuning of the tamper detector.

    Attributes:
        hold_s: how long a condition must hold before it is tamper.
        interval_s: frames closer together than this are not re-examined (tamper is slow).
        covered_std: below this standard deviation (gray levels) the picture has collapsed.
        covered_entropy: below this entropy (bits) the picture has collapsed.
        defocus_ratio: sharpness below this share of the reference's is defocus.
        moved_correlation: edge correlation with the reference below this is a moved camera.
    """

    hold_s: float = 5.0
    interval_s: float = 0.25
    covered_std: float = 6.0
    covered_entropy: float = 2.0
    defocus_ratio: float = 0.3
    moved_correlation: float = 0.35


@dataclass(frozen=True, slots=True)
class TamperScores:
    """The measures behind a verdict (useful to tune a camera by hand)."""

    std: float
    entropy: float
    sharpness: float
    correlation: float


@dataclass(frozen=True, slots=True)
class TamperVerdict:
    """What the tamper detector made of the frames so far.

    Attributes:
        tamper: the tamper in force (it has held for ``hold_s``), if any.
        suspect: the condition seen now, before it has held long enough.
        since: when the suspected or confirmed condition began (the caller's time).
        scores: the last measures.
    """

    tamper: TamperKind | None
    suspect: TamperKind | None = None
    since: float | None = None
    scores: TamperScores | None = None


class TamperDetector:
    """Covered, defocused or moved camera, judged against a commissioning reference."""

    def __init__(self, settings: TamperSettings | None = None) -> None:
        """A detector for one camera; the first frame it sees becomes the reference.

        Args:
            settings: tuning; the defaults report within ``hold_s`` plus a second.
        """
        self.settings = settings or TamperSettings()
        self._ref_edges: Floats | None = None
        self._ref_sharpness = 0.0
        self._last_check: float | None = None
        self._suspect: TamperKind | None = None
        self._since: float | None = None
        self._verdict = TamperVerdict(tamper=None)

    @property
    def has_reference(self) -> bool:
        """A reference scene is set."""
        return self._ref_edges is not None

    def set_reference(self, frame: Gray) -> None:
        """Take a frame of the untouched scene as the reference (at commissioning).

        Args:
            frame: the reduced grayscale frame.
        """
        self._ref_edges = _edges(frame)
        self._ref_sharpness = max(_sharpness(frame), 1e-6)
        self._suspect = None
        self._since = None
        self._last_check = None
        self._verdict = TamperVerdict(tamper=None)

    def check(self, frame: Gray, now: float) -> TamperVerdict:
        """Examine one frame.

        Args:
            frame: the reduced grayscale frame.
            now: its time in seconds, on any clock that does not go back.

        Returns:
            The verdict; between examinations (``interval_s``), the previous one.
        """
        if self._ref_edges is None or self._ref_edges.shape != frame.shape:
            self.set_reference(frame)
        last = self._last_check
        if last is not None and now - last < self.settings.interval_s:
            return self._verdict
        self._last_check = now
        scores = self._scores(frame)
        seen = self._classify(scores)
        if seen != self._suspect:
            self._suspect, self._since = seen, (now if seen else None)
        held = self._since is not None and now - self._since >= self.settings.hold_s
        self._verdict = TamperVerdict(
            tamper=seen if held else None, suspect=seen, since=self._since, scores=scores
        )
        return self._verdict

    def _scores(self, frame: Gray) -> TamperScores:
        _, std = cv2.meanStdDev(frame)
        hist = cv2.calcHist([frame], [0], None, [64], [0, 256]).ravel()
        p = hist[hist > 0] / frame.size
        entropy = float(-(p * np.log2(p)).sum())
        ref = self._ref_edges
        assert ref is not None  # set by check() before scoring
        correlation = float(cv2.matchTemplate(_edges(frame), ref, cv2.TM_CCOEFF_NORMED)[0, 0])
        return TamperScores(
            std=float(std[0, 0]),
            entropy=entropy,
            sharpness=_sharpness(frame) / self._ref_sharpness,
            correlation=correlation,
        )

    def _classify(self, sc: TamperScores) -> TamperKind | None:
        s = self.settings
        if sc.std < s.covered_std or sc.entropy < s.covered_entropy:
            return TamperKind.COVERED
        if sc.sharpness < s.defocus_ratio:
            return TamperKind.DEFOCUSED
        if sc.correlation < s.moved_correlation:
            return TamperKind.MOVED
        return None


def _sharpness(frame: Gray) -> float:
    """Fine detail relative to the frame's contrast: Laplacian variance over intensity variance."""
    f = cv2.GaussianBlur(frame, (3, 3), 0)  # the sensor's grain is not detail
    lap = cv2.Laplacian(f, cv2.CV_32F)
    _, lap_std = cv2.meanStdDev(lap)
    _, std = cv2.meanStdDev(f)
    return float(lap_std[0, 0]) ** 2 / max(float(std[0, 0]) ** 2, 1.0)


def _edges(frame: Gray) -> Floats:
    """Gradient magnitude, blurred so that a shift of a pixel or two still matches."""
    f = frame.astype(np.float32)
    gx = cv2.Sobel(f, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(f, cv2.CV_32F, 0, 1, ksize=3)
    mag = cv2.magnitude(gx, gy)
    return np.asarray(cv2.GaussianBlur(mag, (0, 0), 2.0), np.float32)
