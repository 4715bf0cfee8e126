"""Evidence captures: the pre-roll around an alert goes in, live frames follow, old ones go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.camera.captures import Captures
from gateway.camera.evidence import EvidenceStore
from gateway.camera.preroll import Kept, PreRoll
from gateway.clock import FakeClock, epoch
from gateway.ids import ulid
from gateway.store.records import Alert
from rules.alerts import AlertType
from rules.directory import Directory
from rules.site import Site
from simulators.camera import SceneKind, make_scene
from tests.conftest import site_doc
from tests.samples import breach_alert

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
JPEG = next(make_scene(SceneKind.EMPTY, 1).jpegs())[1]


def directory() -> Directory:
    doc = site_doc(camera_window_s=20, evidence_before_s=5, evidence_after_s=10)
    doc["households"][0]["devices"].append({"id": "cam-h1", "kind": "camera", "protocol": "mqtt"})
    return Directory.build(Site.model_validate(doc))


def alert(kind: AlertType, at: datetime) -> Alert:
    alert_id = ulid(at)
    link = f"/api/v1/alerts/{alert_id}/snapshot"
    return breach_alert(at, id=alert_id, type=kind, recipients=("p1",), snapshot=link)


async def test_a_door_alert_takes_the_preroll_its_motion_and_live_frames_until_its_end(
    tmp_path: Path,
) -> None:
    ring = PreRoll(dense_s=6, keep_s=26)
    t0 = epoch(NOW)
    for i in range(300):  # 30 s before the alert at 10 frames/s; motion 15 s before it
        t = t0 - 30 + i / 10
        ring.add(Kept(t, JPEG, 0.3 if -16 <= t - t0 < -14 else 0.0))
    store = EvidenceStore(tmp_path)
    clock = FakeClock(NOW)
    captures = Captures(store, directory, lambda cam: ring if cam == "cam-h1" else None, clock)
    breach = alert(AlertType.DOOR_BREACH, NOW)
    await captures.on_alert(breach)
    captures.add_live("h1", "cam-h1", Kept(t0 + 3, JPEG, 0.5))  # the camera sees who opened
    captures.add_live("h2", "cam-h2", Kept(t0 + 3, JPEG, 0.9))  # another household's: not here
    clock.advance(25)
    await captures.close_due()
    manifest = store.manifest(breach.id)
    assert manifest is not None and manifest.status.value == "complete"
    times = sorted((f.t - NOW).total_seconds() for f in manifest.frames)
    motion = [s for s in times if -16 <= s < -14]
    assert len(motion) == 20  # the motion seconds, whole (keepers of the pre-roll)
    assert not [s for s in times if s < -5.01 and not -16 <= s < -14]  # nothing else earlier
    assert sum(1 for s in times if -5 <= s <= 0) >= 49  # every frame of the last 5 s
    assert times[-1] == 3.0
    best = store.best(breach.id)
    assert best is not None and best.name.endswith(".jpg")
    best_frame = next(f for f in manifest.frames if f.file == best.name)
    assert best_frame.score == 0.5
    assert store.verify(breach.id) == []


async def test_an_alert_without_a_snapshot_link_or_of_another_kind_gets_no_capture(
    tmp_path: Path,
) -> None:
    store = EvidenceStore(tmp_path)
    captures = Captures(store, directory, lambda cam: None, FakeClock(NOW))
    fever = alert(AlertType.FEVER, NOW)
    await captures.on_alert(fever)
    assert store.manifest(fever.id) is None


async def test_evidence_past_its_days_is_pruned(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path)
    old_at = NOW - timedelta(days=31)
    old = alert(AlertType.DOOR_BREACH, old_at)
    capture = store.open(old.id, "h1", old_at)
    capture.add("cam-h1", old_at, JPEG)
    capture.close()
    recent = alert(AlertType.DOOR_BREACH, NOW - timedelta(days=1))
    store.open(recent.id, "h1", recent.raised_at).close()
    captures = Captures(store, directory, lambda cam: None, FakeClock(NOW))
    assert await captures.prune() == 1
    assert store.manifest(old.id) is None and store.manifest(recent.id) is not None
