"""One camera's analyser: what its frames become (motion runs, tamper, summaries, bad frames)."""

from __future__ import annotations

from pathlib import Path

from devices.events import CameraFault, CameraTamperEvent, Event, FrameEvent, MotionEvent
from gateway.camera.analysis import CameraAnalyser, Findings, Timing
from gateway.camera.preroll import Kept, PreRoll
from rules.site import Device
from simulators.camera import DOOR_ROI, SceneKind, make_scene

T0 = 1_790_000_000.0  # epoch seconds: frames are stamped with the wall clock


def camera(**over: object) -> Device:
    doc: dict[str, object] = {
        "id": "cam-h1",
        "kind": "camera",
        "protocol": "mqtt",
        "roi": [list(p) for p in DOOR_ROI],
    }
    return Device.model_validate(doc | over)


def analyser(tmp_path: Path, timing: Timing | None = None) -> CameraAnalyser:
    ring = PreRoll(dense_s=6, keep_s=26)
    return CameraAnalyser(camera(), ring, reference=tmp_path / "ref.png", timing=timing)


def play(a: CameraAnalyser, kind: SceneKind, seed: int, start: float = T0) -> list[Findings]:
    return [a.analyse(jpeg, start + t) for t, jpeg in make_scene(kind, seed).jpegs()]


def events(found: list[Findings]) -> list[Event]:
    return [e for f in found for e in f.events]


def test_a_visit_is_one_motion_run_and_the_first_frame_is_a_summary(tmp_path: Path) -> None:
    a = analyser(tmp_path)
    found = play(a, SceneKind.VISIT, 3)
    evs = events(found)
    assert isinstance(evs[0], FrameEvent) and evs[0].frames == 1 and evs[0].width == 640
    motion = [e for e in evs if isinstance(e, MotionEvent)]
    assert motion and motion[0].active and motion[0].score and motion[0].score > 0
    assert all(m.device.address == "cam-h1" for m in motion)
    # Runs alternate: begin, end, begin, …
    assert [m.active for m in motion] == [i % 2 == 0 for i in range(len(motion))]
    assert all(f.kept is not None for f in found)
    assert any(f.kept is not None and f.kept.score > 0 for f in found)


def test_a_light_switched_on_gives_no_motion(tmp_path: Path) -> None:
    a = analyser(tmp_path)
    assert not [e for e in events(play(a, SceneKind.LIGHT_ON, 5)) if isinstance(e, MotionEvent)]


def test_a_covered_lens_is_camera_tamper_and_the_reference_survives_a_restart(
    tmp_path: Path,
) -> None:
    first = analyser(tmp_path)
    play(first, SceneKind.EMPTY, 7)
    assert (tmp_path / "ref.png").exists()
    # After a restart the stored view is the reference, so a lens covered from the first
    # frame on is tamper, not the new normal.
    again = analyser(tmp_path)
    scene = make_scene(SceneKind.COVERED, 7)
    onset = scene.truth.tamper_onset_s
    assert onset is not None
    covered = [(t, j) for t, j in scene.jpegs() if t > onset + 1]
    found = [again.analyse(j, T0 + t) for t, j in covered]
    tamper = [e for e in events(found) if isinstance(e, CameraTamperEvent)]
    assert tamper and tamper[0].tamper and tamper[0].fault is CameraFault.COVERED


def test_bad_frames_are_listed_sparingly_and_a_camera_sending_only_them_is_reported(
    tmp_path: Path,
) -> None:
    a = analyser(tmp_path, Timing(summary_s=30, bad_report_s=10, bad_only_s=30))
    good = next(make_scene(SceneKind.EMPTY, 1).jpegs())[1]
    first = a.analyse(good, T0)
    assert isinstance(first.events[0], FrameEvent)
    found = [a.analyse(b"not a jpeg", T0 + 1 + i) for i in range(40)]
    listed = [r for f in found for r in f.rejected]
    assert len(listed) == 4  # at 1, 11, 21 and 31 s
    assert "no start-of-image marker" in listed[0] and "9 more bad frames" in listed[1]
    only_bad = [e for e in events(found) if isinstance(e, FrameEvent)]
    assert len(only_bad) == 1
    assert only_bad[0].frames == 0 and only_bad[0].bad == 31 and only_bad[0].fault
    # The camera is back: its first good frame says so at once.
    back = a.analyse(good, T0 + 42)
    assert [type(e) for e in back.events] == [FrameEvent]
    assert back.events[0].frames == 1 and back.events[0].bad == 9  # type: ignore[attr-defined]


def test_the_preroll_keeps_every_recent_frame_and_older_motion_within_its_bytes() -> None:
    ring = PreRoll(dense_s=2, keep_s=10, max_bytes=10_000)
    for i in range(100):  # 10 s at 10 frames/s, motion in the fourth second
        t = 100 + i / 10
        ring.add(Kept(t, b"x" * 50, 0.2 if 103 <= t < 104 else 0.0))
    recent = ring.between(107.85, 110)
    assert len(recent) == 21  # every frame of the last two seconds (107.9 to 109.9)
    older = ring.between(100, 107.85)
    motion = [k for k in older if k.score > 0]
    assert len(motion) == 10  # the motion second, whole
    assert older == motion  # and no other older frame
    assert ring.size == 50 * (len(recent) + len(older))
    big = PreRoll(dense_s=2, keep_s=10, max_bytes=1_000)
    for i in range(30):
        big.add(Kept(100 + i / 10, b"y" * 100))
    assert big.size <= 1_000 and big.latest() is not None and big.latest().t == 102.9  # type: ignore[union-attr]
