"""Door-camera analysis on a labelled set of synthetic scenes: accuracy, tamper, speed.

Run: ``make bench-camera`` (or ``python -m bench.camera --scenes 40`` while developing);
``make bench`` puts its figures in the one table (``python -m bench --quick``: 40 scenes).
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
import asyncio
import time
from collections import Counter
from dataclasses import dataclass

from bench.figures import Figure
from devices.camera import AnalysisFrame, decode_for_analysis
from devices.camera_motion import MotionDetector
from devices.camera_tamper import TamperDetector, TamperKind
from simulators.camera import DOOR_ROI, HARD_NEGATIVES, TAMPER_OF, Scene, evaluation_set, make_scene

DEADLINE_S = 30.0
SCENES, TAMPER = 200, 10
QUICK_SCENES, QUICK_TAMPER = 40, 2
GROUP = "door camera: labelled synthetic scenes, 640×480 JPEG"


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


@dataclass(frozen=True)
class TamperStats:
    """One tamper kind: scenes, detections, delays from onset to detection (s)."""

    kind: TamperKind
    scenes: int
    delays: list[float]

    @property
    def late(self) -> int:
        """Detected after the deadline."""
        return sum(d > DEADLINE_S for d in self.delays)


@dataclass(frozen=True)
class Stats:
    """What the labelled set says about the detectors."""

    door: int
    positives: int
    tampered: int
    precision: float
    recall: float
    hard_motion: int
    wrong_by_kind: dict[str, int]
    tamper: list[TamperStats]
    tamper_early: int
    tamper_on_door: int
    fps_motion: float
    fps_both: float


def stats(door: list[Outcome], tampered: list[Outcome]) -> Stats:
    """Score the outcomes against the scenes' truth."""
    tp = sum(o.motion and o.scene.truth.door_activity for o in door)
    fp = sum(o.motion and not o.scene.truth.door_activity for o in door)
    fn = sum(not o.motion and o.scene.truth.door_activity for o in door)
    misses = Counter(o.scene.kind.value for o in door if o.motion != o.scene.truth.door_activity)
    per_kind = []
    for kind in TamperKind:
        mine = [o for o in tampered if o.scene.truth.tamper is kind]
        if mine:
            delays = [
                o.tamper_at - (o.scene.truth.tamper_onset_s or 0.0)
                for o in mine
                if o.tamper is kind and o.tamper_at is not None
            ]
            per_kind.append(TamperStats(kind, len(mine), delays))
    outcomes = door + tampered
    frames = sum(o.frames for o in outcomes)
    motion_cpu = sum(o.cpu_motion for o in outcomes)
    both_cpu = motion_cpu + sum(o.cpu_tamper for o in outcomes)
    return Stats(
        door=len(door),
        positives=sum(o.scene.truth.door_activity for o in door),
        tampered=len(tampered),
        precision=tp / max(tp + fp, 1),
        recall=tp / max(tp + fn, 1),
        hard_motion=sum(o.motion for o in door if o.scene.kind in HARD_NEGATIVES),
        wrong_by_kind=dict(sorted(misses.items())),
        tamper=per_kind,
        tamper_early=sum(
            o.tamper_at is not None and o.tamper_at < (o.scene.truth.tamper_onset_s or 0.0)
            for o in tampered
        ),
        tamper_on_door=sum(o.tamper is not None for o in door),
        fps_motion=frames / motion_cpu,
        fps_both=frames / both_cpu,
    )


def report(st: Stats) -> None:
    """Print the figures."""
    print(f"scenes: {st.door} door ({st.positives} with someone at the door), {st.tampered} tamper")
    print(f"precision: {st.precision:.2f}")
    print(f"recall: {st.recall:.2f}")
    print(f"motion_at_door on light/IR/shadow/noise scenes: {st.hard_motion}")
    if st.wrong_by_kind:
        print(f"  wrong scenes by kind: {st.wrong_by_kind}")
    for t in st.tamper:
        worst = f"{max(t.delays):.1f}" if t.delays else "-"
        mean = f"{sum(t.delays) / len(t.delays):.1f}" if t.delays else "-"
        print(
            f"tamper {t.kind.value}: detected {len(t.delays)}/{t.scenes} "
            f"({len(t.delays) / t.scenes:.2f}), time to detect mean {mean} s, worst {worst} s, "
            f"late (> {DEADLINE_S:.0f} s): {t.late}"
        )
    print(f"tamper before its onset on tamper scenes: {st.tamper_early}")
    print(f"tamper on door scenes: {st.tamper_on_door}")
    print(f"fps per core: {st.fps_motion:.0f} (640×480 JPEG, reduced decode + motion)")
    print(f"fps per core with tamper: {st.fps_both:.0f} (decode + motion + tamper check)")


def run(scenes: int, tamper: int, seed: int = 9) -> Stats:
    """Build the labelled set (``scenes`` door scenes, ``tamper`` per tamper kind) and score it."""
    door = [run_scene(s) for s in evaluation_set(scenes, seed)]
    tampered = [
        run_scene(make_scene(kind, seed * 7_919 + i))
        for kind in sorted(TAMPER_OF)
        for i in range(tamper)
    ]
    return stats(door, tampered)


def stats_figures(st: Stats) -> list[Figure]:
    """The scores as figures, with the camera issue's targets."""
    out = [
        Figure(GROUP, "precision (door activity)", st.precision, "", note=f"{st.door} scenes"),
        Figure(GROUP, "recall (door activity)", st.recall, ""),
        Figure(
            GROUP,
            "motion on light/IR/shadow/noise scenes",
            st.hard_motion,
            "scenes",
            target="0",
            ok=st.hard_motion == 0,
        ),
    ]
    for t in st.tamper:
        found = sum(d <= DEADLINE_S for d in t.delays)
        out.append(
            Figure(
                GROUP,
                f"tamper {t.kind.value} detected in time",
                found / t.scenes,
                "of scenes",
                target=f"all within {DEADLINE_S:.0f} s",
                ok=found == t.scenes,
                note=f"worst {max(t.delays):.1f} s" if t.delays else "",
            )
        )
    out += [
        Figure(
            GROUP,
            "tamper on door scenes",
            st.tamper_on_door,
            "scenes",
            target="0",
            ok=st.tamper_on_door == 0,
        ),
        Figure(GROUP, "frames per CPU-second, decode + motion", st.fps_motion, "fps/core"),
        Figure(GROUP, "frames per CPU-second, + tamper", st.fps_both, "fps/core"),
    ]
    return out


async def figures(quick: bool = False) -> list[Figure]:
    """The labelled set's scores and speed (quick: 40 door scenes, 2 per tamper kind)."""
    scenes, tamper = (QUICK_SCENES, QUICK_TAMPER) if quick else (SCENES, TAMPER)
    return stats_figures(await asyncio.to_thread(run, scenes, tamper))


def main() -> None:
    """Build the labelled set, run it, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=SCENES, help="door scenes (half positive)")
    parser.add_argument("--tamper", type=int, default=TAMPER, help="scenes per tamper kind")
    parser.add_argument("--seed", type=int, default=9)
    args = parser.parse_args()
    t0 = time.perf_counter()
    report(run(args.scenes, args.tamper, args.seed))
    print(f"(ran in {time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
