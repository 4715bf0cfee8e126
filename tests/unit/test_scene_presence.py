"""Scene.presence: when the figure is at the door, as the rendered frames show it."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from simulators.camera import DOOR, HARD_NEGATIVES, SceneKind, make_scene


def _figure_pixels(frame: np.ndarray, empty: np.ndarray) -> int:
    """Pixels of the door's box that differ from the empty landing (blurred against noise)."""
    diff = cv2.blur(cv2.absdiff(frame, empty).max(axis=2), (5, 5))
    x0, y0, x1, y1 = DOOR
    return int((diff[y0:y1, x0:x1] > 20).sum())


# Seeds without rain (its streaks change every frame), day and night among them.
@pytest.mark.parametrize(
    ("kind", "seed"),
    [(SceneKind.VISIT, 3), (SceneKind.VISIT, 4), (SceneKind.CROSSING, 2), (SceneKind.CROSSING, 5)],
)
def test_the_figure_is_in_the_door_exactly_while_presence_says(kind: SceneKind, seed: int) -> None:
    """Frames inside the span show the figure over the door; frames outside show none of it."""
    scene = make_scene(kind, seed, fps=5.0)
    assert not scene.rain
    span = scene.presence()
    assert span is not None
    enter, leave = span
    assert 0 < enter < leave <= scene.duration_s
    frames = list(scene.frames())
    empty = frames[0][1]  # t = 0: the figure has not come on the landing yet
    inside = [_figure_pixels(f, empty) for t, f in frames if enter + 0.1 <= t < leave - 0.1]
    outside = [_figure_pixels(f, empty) for t, f in frames if not enter - 0.1 <= t < leave + 0.1]
    assert inside and outside
    assert min(inside) > 1000
    assert max(outside) < 50


def test_nobody_comes_to_the_door_in_the_other_scenes() -> None:
    """Hard negatives, empty and tamper scenes have no presence."""
    for kind in sorted(HARD_NEGATIVES | {SceneKind.EMPTY, SceneKind.COVERED}):
        assert make_scene(kind, 11).presence() is None, kind
