"""Door-camera analysis on a labelled set of synthetic scenes: accuracy, tamper, speed.

Run: ``make bench-camera`` (or ``python -m bench.camera --scenes 40`` while developing).
Each scene is rendered by the simulator, encoded as 640×480 JPEG, then decoded at reduced size
and fed to the motion and tamper detectors as a camera would feed them. Prints:

- ``precision``/``recall`` of door activity (a scene counts as motion if any frame says motion);
- ``motion_at_door on light/IR/shadow/noise scenes``: scenes of those kinds with motion (target 0);
- per tamper kind: detection rate and time from onset to detection (target: all, within 30 s),
  and tamper reported on the door scenes (none should be);
- ``fps per core``: frames per CPU-second for decode + motion, and decode + motion + tamper.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from dataclasses import dataclass

from devices.camera import AnalysisFrame, decode_for_analysis
from devices.camera_motion import MotionDetector
from devices.camera_tamper import TamperDetector, TamperKind
from simulators.camera import DOOR_ROI, HARD_NEGATIVES, TAMPER_OF, Scene, evaluation_set, make_scene

DEADLINE_S = 30.0


@dataclass
class Outcome:
    """What the detectors made of one scene, and the CPU time they took."""

    scene: Scene
    motion: bool
    tamper: TamperKind | None
    tamper_at: float | None
    frames: int
    cpu_motion: float
    cpu_tamper: float


def run_scene(scene: Scene) -> Outcome:
    """Feed one scene's JPEG frames to fresh detectors, timing decode + analysis on the CPU."""
    motion = MotionDetector(DOOR_ROI)
    tamper = TamperDetector()
    seen_motion = False
    first_tamper: tuple[TamperKind, float] | None = None
    cpu_motion = cpu_tamper = 0.0
    frames = 0
    for t, jpeg in scene.jpegs():
        c0 = time.process_time()
        frame = decode_for_analysis(jpeg)
        if not isinstance(frame, AnalysisFrame):
            raise SystemExit(f"simulator frame rejected: {frame.reason}")
        verdict = motion.detect(frame.gray, t)
        c1 = time.process_time()
        tv = tamper.check(frame.gray, t)
        c2 = time.process_time()
        cpu_motion += c1 - c0
        cpu_tamper += c2 - c1
        frames += 1
        seen_motion |= verdict.motion
        if tv.tamper is not None and first_tamper is None:
            first_tamper = (tv.tamper, t)
    return Outcome(
        scene,
        seen_motion,
        first_tamper[0] if first_tamper else None,
        first_tamper[1] if first_tamper else None,
        frames,
        cpu_motion,
        cpu_tamper,
    )


def report(door: list[Outcome], tampered: list[Outcome]) -> None:
    """Print the figures."""
    tp = sum(o.motion and o.scene.truth.door_activity for o in door)
    fp = sum(o.motion and not o.scene.truth.door_activity for o in door)
    fn = sum(not o.motion and o.scene.truth.door_activity for o in door)
    positives = sum(o.scene.truth.door_activity for o in door)
    print(
        f"scenes: {len(door)} door ({positives} with someone at the door), {len(tampered)} tamper"
    )
    print(f"precision: {tp / max(tp + fp, 1):.2f}")
    print(f"recall: {tp / max(tp + fn, 1):.2f}")
    hard = [o for o in door if o.scene.kind in HARD_NEGATIVES]
    print(f"motion_at_door on light/IR/shadow/noise scenes: {sum(o.motion for o in hard)}")
    misses = Counter(o.scene.kind.value for o in door if o.motion != o.scene.truth.door_activity)
    if misses:
        print(f"  wrong scenes by kind: {dict(sorted(misses.items()))}")
    for kind in TamperKind:
        mine = [o for o in tampered if o.scene.truth.tamper is kind]
        if not mine:
            continue
        delays = [
            o.tamper_at - (o.scene.truth.tamper_onset_s or 0.0)
            for o in mine
            if o.tamper is kind and o.tamper_at is not None
        ]
        late = sum(d > DEADLINE_S for d in delays)
        worst = f"{max(delays):.1f}" if delays else "-"
        mean = f"{sum(delays) / len(delays):.1f}" if delays else "-"
        print(
            f"tamper {kind.value}: detected {len(delays)}/{len(mine)} "
            f"({len(delays) / len(mine):.2f}), time to detect mean {mean} s, worst {worst} s, "
            f"late (> {DEADLINE_S:.0f} s): {late}"
        )
    early = sum(
        o.tamper_at is not None and o.tamper_at < (o.scene.truth.tamper_onset_s or 0.0)
        for o in tampered
    )
    print(f"tamper before its onset on tamper scenes: {early}")
    print(f"tamper on door scenes: {sum(o.tamper is not None for o in door)}")
    outcomes = door + tampered
    frames = sum(o.frames for o in outcomes)
    motion_cpu = sum(o.cpu_motion for o in outcomes)
    both_cpu = motion_cpu + sum(o.cpu_tamper for o in outcomes)
    print(f"fps per core: {frames / motion_cpu:.0f} (640×480 JPEG, reduced decode + motion)")
    print(f"fps per core with tamper: {frames / both_cpu:.0f} (decode + motion + tamper check)")


def main() -> None:
    """Build the labelled set, run it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=200, help="door scenes (half positive)")
    parser.add_argument("--tamper", type=int, default=10, help="scenes per tamper kind")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    t0 = time.perf_counter()
    door = [run_scene(s) for s in evaluation_set(args.scenes, args.seed)]
    tampered = [
        run_scene(make_scene(kind, args.seed * 7_919 + i))
        for kind in sorted(TAMPER_OF)
        for i in range(args.tamper)
    ]
    report(door, tampered)
    print(f"(ran in {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
