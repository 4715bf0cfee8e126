"""Camera tamper on simulated scenes: covered, defocused, moved — only after the hold."""

from __future__ import annotations

import pytest

from devices.camera import AnalysisFrame, decode_for_analysis
from devices.camera_tamper import TamperDetector, TamperKind, TamperSettings, TamperVerdict
from simulators.camera import SceneKind, make_scene


def run(kind: SceneKind, seed: int) -> tuple[float | None, list[tuple[float, TamperVerdict]]]:
    """The scene's tamper onset and the detector's verdict on each of its frames at 5 fps."""
    scene = make_scene(kind, seed, fps=5.0)
    detector = TamperDetector()
    out = []
    for t, jpeg in scene.jpegs():
        frame = decode_for_analysis(jpeg)
        assert isinstance(frame, AnalysisFrame)
        out.append((t, detector.check(frame.gray, t)))
    return scene.truth.tamper_onset_s, out


@pytest.mark.parametrize(
    ("kind", "tamper"),
    [
        (SceneKind.COVERED, TamperKind.COVERED),
        (SceneKind.DEFOCUSED, TamperKind.DEFOCUSED),
        (SceneKind.MOVED, TamperKind.MOVED),
    ],
)
def test_tamper_is_reported_after_the_hold_and_not_before(kind: SceneKind, tamper: TamperKind):
    """Nothing before onset plus the hold; then the right kind, well within 30 s."""
    onset, result = run(kind, 31)
    assert onset is not None
    hold = TamperSettings().hold_s
    assert not any(v.tamper for t, v in result if t < onset + hold - 0.01)
    reported = [t for t, v in result if v.tamper is tamper]
    assert reported and reported[0] - onset <= 30.0
    assert all(v.tamper in (None, tamper) for _, v in result)


def test_a_covered_lens_is_suspected_at_once_but_reported_only_after_the_hold():
    """Right after the hand arrives the verdict says suspect, not tamper."""
    onset, result = run(SceneKind.COVERED, 32)
    assert onset is not None
    early = [v for t, v in result if onset + 1.0 <= t < onset + 3.0]
    assert early and all(v.suspect is TamperKind.COVERED and v.tamper is None for v in early)


@pytest.mark.parametrize("kind", [SceneKind.VISIT, SceneKind.IR_SWITCH, SceneKind.NIGHT_NOISE])
def test_a_person_or_the_night_is_not_tamper(kind: SceneKind):
    """A visitor, the IR switch or night noise never make a tamper verdict."""
    _, result = run(kind, 33)
    assert not any(v.tamper for _, v in result)


def test_a_new_reference_forgets_the_suspicion():
    """Re-commissioning with the moved view as reference clears the moved verdict."""
    scene = make_scene(SceneKind.MOVED, 34, fps=5.0)
    detector = TamperDetector()
    last = None
    for t, jpeg in scene.jpegs():
        frame = decode_for_analysis(jpeg)
        assert isinstance(frame, AnalysisFrame)
        last = (t, frame.gray)
        detector.check(frame.gray, t)
    assert last is not None
    assert detector.check(last[1], last[0] + 1.0).tamper is TamperKind.MOVED
    detector.set_reference(last[1])
    assert detector.check(last[1], last[0] + 2.0).tamper is None
