"""Motion at the door on simulated scenes: a person is motion, light, IR and shadow are not."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from devices.camera import AnalysisFrame, decode_for_analysis
from devices.camera_motion import MotionDetector, MotionSettings, MotionVerdict
from simulators.camera import DOOR_ROI, SceneKind, make_scene


def verdicts(kind: SceneKind, seed: int, settings: MotionSettings | None = None):
    """(time, verdict) for every frame of a scene, as the camera would send it (JPEG)."""
    detector = MotionDetector(DOOR_ROI, settings)
    out: list[tuple[float, MotionVerdict]] = []
    for t, jpeg in make_scene(kind, seed).jpegs():
        frame = decode_for_analysis(jpeg)
        assert isinstance(frame, AnalysisFrame)
        out.append((t, detector.detect(frame.gray, t)))
    return out


@pytest.mark.parametrize("seed", [11, 12])
def test_a_person_stopping_at_the_door_is_motion(seed: int):
    """Someone walking up to the door and standing there is reported, with a box on the door."""
    seen = [(t, v) for t, v in verdicts(SceneKind.VISIT, seed) if v.motion]
    assert seen
    t, v = seen[0]
    assert v.since is not None and t - v.since >= 0.5
    if v.box is not None:
        left, _, right, _ = v.box
        assert right > 0.37 and left < 0.63


def test_motion_needs_the_minimum_duration():
    """With a minimum duration longer than the visit, the same person is never motion."""
    slow = MotionSettings(min_duration_s=30.0)
    result = verdicts(SceneKind.VISIT, 11, slow)
    assert any(v.candidate for _, v in result)
    assert not any(v.motion for _, v in result)


@pytest.mark.parametrize(
    "kind",
    [SceneKind.LIGHT_ON, SceneKind.LIGHT_OFF, SceneKind.IR_SWITCH, SceneKind.SHADOW],
)
def test_light_ir_switch_and_shadow_are_not_motion(kind: SceneKind):
    """A light switched on or off, the IR switch, or a shadow passing raise no motion."""
    result = verdicts(kind, 21)
    assert not any(v.motion for _, v in result)


def test_a_light_switched_on_is_seen_as_lighting():
    """The switch itself is recognised as a lighting event after the start-up settling."""
    result = verdicts(SceneKind.LIGHT_ON, 21)
    assert any(v.lighting for t, v in result if t > 2.0)


def test_the_first_frame_only_seeds_the_background():
    """The first frame of a camera is never motion: there is nothing to compare it with."""
    detector = MotionDetector()
    frame = np.full((120, 160), 128, np.uint8)
    assert detector.detect(frame, 0.0) == MotionVerdict(motion=False, lighting=True)


def test_a_bright_block_in_a_still_scene_is_motion_after_it_persists():
    """On a plain numpy scene, a person-sized block appearing is motion only after 0.5 s."""
    rng = np.random.default_rng(3)
    scene = np.clip(rng.normal(120, 25, (120, 160)), 0, 255).astype(np.uint8)
    detector = MotionDetector()
    for i in range(20):
        assert not detector.detect(scene, i * 0.1).motion
    with_person = scene.copy()
    with_person[30:100, 70:95] = 230
    results = [detector.detect(with_person, 2.0 + i * 0.1) for i in range(8)]
    assert results[0].candidate and not results[0].motion
    assert results[-1].motion


def test_sensitivity_out_of_range_is_refused():
    """A sensitivity of zero would make every speck motion: it is refused."""
    with pytest.raises(ValueError, match="sensitivity"):
        MotionSettings(sensitivity=0.0)


@pytest.mark.parametrize("seed", [5000, 5001])
def test_an_ir_switch_that_barely_moves_the_brightness_is_still_lighting(seed: int):
    """The IR switch changes the door's gray level but not the mean: its grain gives it away."""
    result = verdicts(SceneKind.IR_SWITCH, seed)
    assert any(v.lighting for t, v in result if t > 2.0)
    assert not any(v.motion for _, v in result)


@pytest.mark.parametrize("seed", [900031, 5002])
def test_a_person_crossing_the_door_at_night_is_motion(seed: int):
    """Under IR, with its low contrast and grain, a person crossing the door is still motion."""
    scene = make_scene(SceneKind.CROSSING, seed)
    detector = MotionDetector(DOOR_ROI)
    night = dataclasses.replace(scene, night=True)
    seen = False
    for t, jpeg in night.jpegs():
        frame = decode_for_analysis(jpeg)
        assert isinstance(frame, AnalysisFrame)
        seen |= detector.detect(frame.gray, t).motion
    assert seen
