"""Synthetic door-camera scenes with their ground truth, rendered with numpy and OpenCV.

A corridor with a door, seen from across the landing at 640×480. Each :class:`Scene` is a
sequence of frames at a frame rate plus what really happened: whether someone was at the door,
and which tamper (if any) began when. The scenes cover what a door camera meets: a person
crossing or stopping at the door, lights switched on and off, the camera's IR night mode (gray and
noisy), a shadow gliding past, rain-like noise, a hand over the lens, the camera knocked aside,
the lens defocused. Everything is drawn from a seed, so a scene renders the same every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np
import numpy.typing as npt

from devices.camera_tamper import TamperKind

W, H = 640, 480
DOOR = (250, 110, 390, 420)
"""The door's box in the full frame: left, top, right, bottom."""
DOOR_ROI = [(0.37, 0.2), (0.63, 0.2), (0.63, 0.9), (0.37, 0.9)]
"""The door's region of interest as the site file writes it (fractions of the frame)."""

Image = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]


class SceneKind(StrEnum):
    """What happens in a scene."""

    EMPTY = "empty"
    CROSSING = "crossing"  # someone walks across the door
    VISIT = "visit"  # someone walks up, stands at the door, and leaves
    LIGHT_ON = "light_on"
    LIGHT_OFF = "light_off"
    IR_SWITCH = "ir_switch"  # the camera drops into IR night mode
    SHADOW = "shadow"
    NIGHT_NOISE = "night_noise"  # IR mode throughout, heavy sensor noise
    RAIN = "rain"
    COVERED = "covered"
    MOVED = "moved"
    DEFOCUSED = "defocused"


TAMPER_OF = {
    SceneKind.COVERED: TamperKind.COVERED,
    SceneKind.MOVED: TamperKind.MOVED,
    SceneKind.DEFOCUSED: TamperKind.DEFOCUSED,
}
HARD_NEGATIVES = frozenset(
    {
        SceneKind.LIGHT_ON,
        SceneKind.LIGHT_OFF,
        SceneKind.IR_SWITCH,
        SceneKind.SHADOW,
        SceneKind.NIGHT_NOISE,
        SceneKind.RAIN,
    }
)


@dataclass(frozen=True, slots=True)
class Truth:
    """What really happened in a scene.

    Attributes:
        door_activity: someone was at (in front of) the door.
        tamper: the tamper that begins in the scene, if any.
        tamper_onset_s: when it begins, seconds from the scene's start.
    """

    door_activity: bool
    tamper: TamperKind | None = None
    tamper_onset_s: float | None = None


@dataclass(frozen=True, slots=True)
class Scene:
    """A scene to render: its kind, seed, length, frame rate and truth.

    Attributes:
        kind: what happens.
        seed: the seed every random choice is drawn from.
        duration_s: length in seconds.
        fps: frames per second.
        night: the scene starts in IR night mode.
        rain: rain-like noise over the whole scene.
        truth: the ground truth.
    """

    kind: SceneKind
    seed: int
    duration_s: float
    fps: float
    night: bool
    rain: bool
    truth: Truth

    def frames(self) -> Iterator[tuple[float, Image]]:
        """The scene's frames as (seconds from the start, 640×480 BGR image)."""
        yield from _Renderer(self).frames()

    def presence(self) -> tuple[float, float] | None:
        """When the person-sized figure overlaps the door, in seconds from the scene's start.

        Returns:
            ``(enter, leave)``: the figure overlaps the door in the frames at ``enter <= t <
            leave`` (``leave`` is the scene's end when it is still there); None when nobody comes.
        """
        return _Renderer(self).person.door_span(self.duration_s)

    def jpegs(self, quality: int = 80) -> Iterator[tuple[float, bytes]]:
        """The scene's frames as (seconds from the start, JPEG bytes)."""
        for t, image in self.frames():
            ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:  # pragma: no cover - OpenCV always encodes an 8-bit BGR image
                raise RuntimeError("JPEG encoding failed")
            yield t, buf.tobytes()


def make_scene(kind: SceneKind, seed: int, fps: float = 10.0) -> Scene:
    """A scene of a kind, its details (day or night, rain, timing) drawn from the seed.

    Args:
        kind: what happens.
        seed: the seed.
        fps: frames per second.

    Returns:
        The scene with its truth.
    """
    rng = np.random.default_rng(seed)
    tamper = TAMPER_OF.get(kind)
    # Tamper scenes are long enough to see a 30 s detection deadline pass.
    duration = 45.0 if tamper else float(rng.uniform(8.0, 12.0))
    night = kind is SceneKind.NIGHT_NOISE or (
        kind in (SceneKind.CROSSING, SceneKind.VISIT, SceneKind.EMPTY, SceneKind.SHADOW)
        and rng.random() < 0.3
    )
    rain = kind is SceneKind.RAIN or (
        kind in (SceneKind.CROSSING, SceneKind.VISIT) and rng.random() < 0.2
    )
    onset = float(rng.uniform(8.0, 12.0)) if tamper else None
    truth = Truth(kind in (SceneKind.CROSSING, SceneKind.VISIT), tamper, onset)
    return Scene(kind, seed, duration, fps, night, rain, truth)


def evaluation_set(n: int, seed: int = 9) -> list[Scene]:
    """A labelled set of ``n`` door scenes: half with someone at the door, half without.

    The negatives are mostly hard ones: lights, the IR switch, shadows, night noise and rain.

    Args:
        n: how many scenes.
        seed: the seed of the whole set.

    Returns:
        The scenes, positives and negatives interleaved.
    """
    positives = [SceneKind.CROSSING, SceneKind.VISIT]
    negatives = [SceneKind.EMPTY, *sorted(HARD_NEGATIVES)]
    scenes = []
    for i in range(n):
        kinds = positives if i % 2 == 0 else negatives
        kind = kinds[(i // 2) % len(kinds)]
        scenes.append(make_scene(kind, seed * 100_003 + i))
    return scenes


class _Renderer:
    """Draws one scene frame by frame; all randomness from the scene's seed."""

    def __init__(self, scene: Scene) -> None:
        self.s = scene
        self.rng = np.random.default_rng(scene.seed)
        r = self.rng
        self.albedo = _corridor(r)
        self.ir_albedo = _ir_albedo(self.albedo, r)
        yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
        lx, ly = float(r.uniform(200, 440)), float(r.uniform(-60, 60))
        # A ceiling lamp: bright under it, falling off along the corridor.
        self.lamp = (1.0 / (1.0 + ((xx - lx) ** 2 + (yy - ly) ** 2) / 250.0**2)).astype(np.float32)
        self.vignette = 1.0 - 0.45 * (((xx - W / 2) / W) ** 2 + ((yy - H / 2) / H) ** 2) * 2.5
        self.vignette = self.vignette.astype(np.float32)
        self.ambient = float(r.uniform(0.35, 0.6))
        self.lamp_gain = float(r.uniform(0.6, 1.0))
        self.event_t = float(r.uniform(2.5, scene.duration_s - 3.0))
        self.person = _Person(r, scene)
        self.shadow_dir = 1 if r.random() < 0.5 else -1
        self.shadow_y = float(r.uniform(200, 320))
        self.moved = (
            float(r.uniform(40, 90)) * (1 if r.random() < 0.5 else -1),
            float(r.uniform(-30, 30)),
            float(r.uniform(-10, 10)),
        )
        self.hand = np.array([r.uniform(60, 110), r.uniform(70, 120), r.uniform(110, 160)])

    def frames(self) -> Iterator[tuple[float, Image]]:
        n = round(self.s.duration_s * self.s.fps)
        for i in range(n):
            t = i / self.s.fps
            yield t, self.render(t)

    def render(self, t: float) -> Image:
        s, k = self.s, self.s.kind
        night = s.night or (k is SceneKind.IR_SWITCH and t >= self.event_t)
        lamp_on = not night and self._lamp_on(t)
        # The figure is drawn in reflectances, then lit with the rest of the scene.
        if night:
            light = 0.55 + 0.45 * self.vignette
            img = self.person.draw(self.ir_albedo, t, night) * light[..., None]
        else:
            light = self.ambient + self.lamp_gain * self.lamp * (1.0 if lamp_on else 0.15)
            img = self.person.draw(self.albedo, t, night) * light[..., None]
        if k is SceneKind.SHADOW:
            img = self._shadow(img, t)
        img = img * 255.0
        if s.rain:
            img = self._rain(img)
        img = self._tamper(img, t)
        noise = 9.0 if night else 2.0
        img = img + self.rng.normal(0.0, noise, img.shape[:2]).astype(np.float32)[..., None]
        return np.clip(img, 0, 255).astype(np.uint8)

    def _lamp_on(self, t: float) -> bool:
        if self.s.kind is SceneKind.LIGHT_ON:
            return t >= self.event_t
        if self.s.kind is SceneKind.LIGHT_OFF:
            return t < self.event_t
        return True

    def _shadow(self, img: Floats, t: float) -> Floats:
        # Someone out of view between the lamp and the wall: a soft dark patch gliding past.
        speed = W / 4.0
        x = W / 2 + self.shadow_dir * (t - self.event_t) * speed
        patch = np.zeros((H, W), np.float32)
        cv2.ellipse(patch, (round(x), round(self.shadow_y)), (90, 170), 0, 0, 360, 1.0, -1)
        patch = cv2.GaussianBlur(patch, (0, 0), 22)
        return img * (1.0 - 0.45 * patch)[..., None]

    def _rain(self, img: Floats) -> Floats:
        streaks = np.zeros((H, W), np.float32)
        for _ in range(120):
            x, y = int(self.rng.integers(0, W)), int(self.rng.integers(0, H))
            cv2.line(streaks, (x, y), (x + 3, y + 18), float(self.rng.uniform(30, 70)), 1)
        return img + streaks[..., None]

    def _tamper(self, img: Floats, t: float) -> Floats:
        onset = self.s.truth.tamper_onset_s
        if onset is None or t < onset:
            return img
        kind = self.s.truth.tamper
        if kind is TamperKind.COVERED:
            # A palm over the lens: dark, flesh-toned, featureless; it closes in over half a second.
            cover = min(1.0, (t - onset) / 0.5)
            hand = np.broadcast_to(self.hand * 0.25, img.shape).astype(np.float32)
            return img * (1 - cover) + hand * cover
        if kind is TamperKind.MOVED:
            dx, dy, angle = self.moved
            m = cv2.getRotationMatrix2D((W / 2, H / 2), angle, 1.0)
            m[:, 2] += (dx, dy)
            return cv2.warpAffine(img, m, (W, H), borderMode=cv2.BORDER_REFLECT)
        return cv2.GaussianBlur(img, (0, 0), 7.0)


class _Person:
    """A person-sized figure: head, torso, legs, in clothes of a random shade."""

    HALF_WIDTH = 36
    """Half the torso's width, its widest part, in pixels."""

    def __init__(self, r: np.random.Generator, scene: Scene) -> None:
        self.kind = scene.kind
        self.start = float(r.uniform(1.5, max(1.6, scene.duration_s - 7.0)))
        self.dir = 1 if r.random() < 0.5 else -1
        self.speed = float(r.uniform(120, 220))  # px/s
        self.stay = float(r.uniform(2.0, 4.0))
        self.cloth = np.array(r.uniform(0.05, 0.9, 3), np.float32)
        self.trousers = np.array(r.uniform(0.05, 0.6, 3), np.float32)
        self.skin = np.array(r.uniform(0.35, 0.8) * np.array([0.75, 0.85, 1.0]), np.float32)
        self.height = float(r.uniform(270, 320))

    def x_at(self, t: float) -> float | None:
        if self.kind not in (SceneKind.CROSSING, SceneKind.VISIT) or t < self.start:
            return None
        dt = t - self.start
        door_x = (DOOR[0] + DOOR[2]) / 2
        edge = -60.0 if self.dir > 0 else W + 60.0
        walk = abs(door_x - edge) / self.speed
        if self.kind is SceneKind.CROSSING:
            x = edge + self.dir * self.speed * dt
            return x if -80 <= x <= W + 80 else None
        if dt < walk:
            return edge + self.dir * self.speed * dt
        if dt < walk + self.stay:
            return door_x + 4.0 * np.sin(dt * 3.0)  # standing, swaying a little
        x = door_x - self.dir * self.speed * (dt - walk - self.stay)
        return x if -80 <= x <= W + 80 else None

    def door_span(self, duration: float) -> tuple[float, float] | None:
        """When the torso overlaps the door's box (see ``x_at``), clipped to the scene."""
        if self.kind not in (SceneKind.CROSSING, SceneKind.VISIT):
            return None
        door_x = (DOOR[0] + DOOR[2]) / 2
        edge = -60.0 if self.dir > 0 else W + 60.0
        # The figure's centre between these two overlaps the door; it comes in over ``near``.
        near, far = DOOR[0] - self.HALF_WIDTH, DOOR[2] + self.HALF_WIDTH
        if self.dir < 0:
            near, far = far, near
        enter = self.start + abs(near - edge) / self.speed
        if self.kind is SceneKind.CROSSING:
            leave = self.start + abs(far - edge) / self.speed
        else:  # walks up, stands, and goes back the way it came
            walk = abs(door_x - edge) / self.speed
            leave = self.start + walk + self.stay + abs(door_x - near) / self.speed
        return (enter, min(leave, duration)) if enter < duration else None

    def draw(self, img: Floats, t: float, night: bool) -> Floats:
        x = self.x_at(t)
        if x is None:
            return img
        out = img.copy()
        feet, h = 440, self.height
        # Under the camera's IR lamp fabric and skin reflect strongly: the figure shows light.
        shade = (lambda c: np.full(3, 0.75 + 0.2 * float(c.mean()), np.float32)) if night else None
        cloth = shade(self.cloth) if shade else self.cloth
        trousers = shade(self.trousers) if shade else self.trousers
        skin = shade(self.skin) if shade else self.skin
        cx = round(x)
        top = round(feet - h)
        cv2.rectangle(
            out, (cx - 26, round(feet - h * 0.48)), (cx + 26, feet), trousers.tolist(), -1
        )
        cv2.rectangle(
            out,
            (cx - self.HALF_WIDTH, round(top + h * 0.16)),
            (cx + self.HALF_WIDTH, round(feet - h * 0.45)),
            cloth.tolist(),
            -1,
        )
        cv2.ellipse(
            out, (cx, round(top + h * 0.08)), (19, round(h * 0.08)), 0, 0, 360, skin.tolist(), -1
        )
        return out


def _corridor(r: np.random.Generator) -> Floats:
    """Reflectances (0–1, BGR) of a corridor: walls, floor, a door with panels, a poster."""
    img = np.zeros((H, W, 3), np.float32)
    wall = np.array(r.uniform(0.55, 0.85, 3), np.float32)
    img[:] = wall
    cv2.rectangle(img, (0, 400), (W, H), (wall * 0.55).tolist(), -1)  # floor
    cv2.line(img, (0, 400), (W, 400), (wall * 0.3).tolist(), 3)  # skirting
    door = np.array(r.uniform(0.2, 0.6, 3), np.float32)
    x0, y0, x1, y1 = DOOR
    cv2.rectangle(img, (x0 - 8, y0 - 8), (x1 + 8, y1), (wall * 0.4).tolist(), -1)  # frame
    cv2.rectangle(img, (x0, y0), (x1, y1), door.tolist(), -1)
    for py0, py1 in ((y0 + 20, y0 + 140), (y0 + 170, y1 - 20)):  # panels
        cv2.rectangle(img, (x0 + 18, py0), (x1 - 18, py1), (door * 0.75).tolist(), 2)
    cv2.circle(img, (x1 - 20, (y0 + y1) // 2), 6, (0.85, 0.85, 0.85), -1)  # handle
    px = int(r.integers(40, 140)) if r.random() < 0.5 else int(r.integers(450, 540))
    cv2.rectangle(img, (px, 150), (px + 80, 260), r.uniform(0.1, 0.9, 3).tolist(), -1)  # poster
    cv2.rectangle(img, (px + 10, 165), (px + 70, 200), r.uniform(0.1, 0.9, 3).tolist(), -1)
    grain = r.normal(0.0, 0.025, (H // 4, W // 4)).astype(np.float32)
    grain = cv2.resize(grain, (W, H), interpolation=cv2.INTER_LINEAR)
    return np.clip(img + grain[..., None], 0.02, 1.0)


def _ir_albedo(albedo: Floats, r: np.random.Generator) -> Floats:
    """The scene under IR: gray, materials reflecting differently from daylight."""
    gray = albedo.mean(axis=2, keepdims=True)
    ir = 0.5 * gray + 0.35 + float(r.uniform(-0.05, 0.05))
    return np.repeat(np.clip(ir, 0.0, 1.0), 3, axis=2).astype(np.float32)
