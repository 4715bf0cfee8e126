"""The camera scene simulator: deterministic from its seed, labelled, encodable as JPEG."""

from __future__ import annotations

import numpy as np

from devices.camera import AnalysisFrame, decode_for_analysis
from devices.camera_tamper import TamperKind
from simulators.camera import HARD_NEGATIVES, SceneKind, evaluation_set, make_scene


def frame_at(kind: SceneKind, seed: int, at: float) -> np.ndarray:
    """The scene's frame nearest ``at`` seconds."""
    return next(img for t, img in make_scene(kind, seed).frames() if t >= at)


def test_the_same_seed_renders_the_same_frames():
    """Two renders of one scene are pixel-identical; another seed is not."""
    a = frame_at(SceneKind.VISIT, 5, 6.0)
    assert a.shape == (480, 640, 3)
    assert np.array_equal(a, frame_at(SceneKind.VISIT, 5, 6.0))
    assert not np.array_equal(a, frame_at(SceneKind.VISIT, 6, 6.0))


def test_the_evaluation_set_is_half_door_activity_with_hard_negatives():
    """Half the scenes have someone at the door; every hard-negative kind is among the rest."""
    scenes = evaluation_set(40)
    assert sum(s.truth.door_activity for s in scenes) == 20
    assert {s.kind for s in scenes if not s.truth.door_activity} >= HARD_NEGATIVES


def test_a_tamper_scene_carries_its_kind_and_onset():
    """A covered-lens scene says so, with an onset inside the scene, and goes dark after it."""
    scene = make_scene(SceneKind.COVERED, 7, fps=2.0)
    assert scene.truth.tamper is TamperKind.COVERED
    onset = scene.truth.tamper_onset_s
    assert onset is not None and 0 < onset < scene.duration_s - 30
    before = next(img for t, img in scene.frames() if t >= onset - 1)
    after = next(img for t, img in scene.frames() if t >= onset + 2)
    assert after.std() < before.std() / 4


def test_scene_frames_are_jpegs_the_decoder_takes():
    """Every frame encodes as a JPEG that decodes to a 160×120 analysis frame."""
    scene = make_scene(SceneKind.RAIN, 8, fps=2.0)
    frames = [decode_for_analysis(jpeg) for _, jpeg in scene.jpegs()]
    assert len(frames) == round(scene.duration_s * 2.0)
    assert all(isinstance(f, AnalysisFrame) and f.gray.shape == (120, 160) for f in frames)
