"""Evidence files of door alerts: JPEGs on disk, a SHA-256 manifest that is always valid, bounds,
no way out of the evidence directory, pruning by age and by size, and tamper checks."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest

from gateway.camera import evidence_capture
from gateway.camera.evidence import (
    AlertIdError,
    CaptureStatus,
    EvidenceStore,
    FrameRefusedError,
)
from gateway.clock import FakeClock
from gateway.ids import ulid

RAISED = datetime(2026, 11, 24, 19, 12, 5, tzinfo=UTC)


def jpeg(seed: int, side: int = 64) -> bytes:
    """A real JPEG, different for each seed."""
    rng = np.random.default_rng(seed)
    ok, buf = cv2.imencode(".jpg", rng.integers(0, 255, (side, side, 3), dtype=np.uint8))
    assert ok
    return buf.tobytes()


def at(seconds: float) -> datetime:
    """A time ``seconds`` after the alert was raised."""
    return RAISED + timedelta(seconds=seconds)


@pytest.fixture
def store(tmp_path: Path) -> EvidenceStore:
    return EvidenceStore(tmp_path / "evidence", clock=FakeClock(RAISED))


def on_disk(store: EvidenceStore, alert_id: str) -> dict:
    """manifest.json exactly as written."""
    return json.loads((store.root / alert_id / "manifest.json").read_text())


def test_manifest_hashes_match_the_files_it_names(store: EvidenceStore):
    """Each frame's file is there, and its SHA-256 and size are what the manifest says."""
    alert = ulid(RAISED)
    capture = store.open(alert, "h1", RAISED)
    frames = {("cam-front", at(-4.5)): jpeg(1), ("cam-hall", at(0.2)): jpeg(2)}
    frames[("cam-front", at(3))] = jpeg(3)
    for (camera, t), data in frames.items():
        capture.add(camera, t, data, score=1.0)
    closed = capture.close()
    written = on_disk(store, alert)
    assert written["status"] == "complete" == closed.status.value
    assert (written["alert_id"], written["household"]) == (alert, "h1")
    assert datetime.fromisoformat(written["raised_at"]) == RAISED
    assert written["cameras"] == ["cam-front", "cam-hall"]
    assert [datetime.fromisoformat(f["t"]) for f in written["frames"]] == [at(-4.5), at(0.2), at(3)]
    for f in written["frames"]:
        data = (store.root / alert / f["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
        assert len(data) == f["bytes"]
        assert data == frames[(f["camera"], datetime.fromisoformat(f["t"]))]
        assert (
            f["file"]
            == f"{f['camera']}-{round(datetime.fromisoformat(f['t']).timestamp() * 1000)}.jpg"
        )
    assert store.verify(alert) == []


def test_the_manifest_is_valid_after_every_frame_and_no_temporary_file_stays(
    store: EvidenceStore,
):
    """Mid-capture the manifest says ``capturing`` and names exactly the files on disk."""
    alert = ulid(RAISED)
    capture = store.open(alert, "h1", RAISED)
    assert on_disk(store, alert)["frames"] == []
    for i in range(5):
        capture.add("cam", at(i), jpeg(i))
        written = on_disk(store, alert)
        assert written["status"] == "capturing"
        files = sorted(p.name for p in (store.root / alert).iterdir())
        assert files == sorted(["manifest.json", *(f["file"] for f in written["frames"])])
        assert len(written["frames"]) == i + 1


def test_a_failed_manifest_write_leaves_the_previous_manifest_whole(
    store: EvidenceStore, monkeypatch: pytest.MonkeyPatch
):
    """A crash while the manifest is replaced: the old one is intact, no temporary is left."""
    alert = ulid(RAISED)
    capture = store.open(alert, "h1", RAISED)
    capture.add("cam", at(0), jpeg(0))
    before = (store.root / alert / "manifest.json").read_bytes()
    real_replace = os.replace

    def failing_replace(src: str, dst: str | Path) -> None:
        if str(dst).endswith("manifest.json"):
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(evidence_capture.os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space"):
        capture.add("cam", at(1), jpeg(1))
    monkeypatch.undo()
    assert (store.root / alert / "manifest.json").read_bytes() == before
    assert not [p for p in (store.root / alert).iterdir() if p.name.endswith(".tmp")]
    # The frame written before the failed manifest is an orphan; a restart takes the capture
    # up again from the manifest and removes it.
    again = EvidenceStore(store.root, clock=FakeClock(RAISED)).open(alert, "h1", RAISED)
    assert [f.file for f in again.manifest.frames] == [
        f"cam-{round(RAISED.timestamp() * 1000)}.jpg"
    ]
    assert sorted(p.name for p in (store.root / alert).iterdir()) == sorted(
        ["manifest.json", again.manifest.frames[0].file]
    )
    again.add("cam", at(1), jpeg(1))
    assert store.verify(alert) == []


def test_best_is_the_highest_score_and_on_a_tie_the_nearest_to_the_alert(store: EvidenceStore):
    """Score first; equal scores go to the frame nearest ``raised_at``."""
    alert = ulid(RAISED)
    capture = store.open(alert, "h1", RAISED)
    capture.add("cam", at(-4), jpeg(1), score=0.2)
    capture.add("cam", at(-1), jpeg(2), score=0.7)
    capture.add("cam", at(0.5), jpeg(3), score=0.7)
    capture.add("cam", at(6), jpeg(4), score=0.5)
    manifest = capture.close()
    assert manifest.best == f"cam-{round(at(0.5).timestamp() * 1000)}.jpg"
    assert store.best(alert) == store.root / alert / manifest.best
    capture = store.open(ulid(RAISED), "h1", RAISED)
    capture.add("cam", at(2), jpeg(5), score=0.0)
    capture.add("cam2", at(2), jpeg(6), score=0.9)
    assert capture.manifest.best == f"cam2-{round(at(2).timestamp() * 1000)}.jpg"


def test_alert_ids_other_than_ulids_are_refused(store: EvidenceStore):
    """Traversal, lower case, a wrong length or a dot never reach a path."""
    good = ulid(RAISED)
    for bad in (
        "../" + good[3:],
        good.lower(),
        good[:-1],
        good + "0",
        "..",
        ".",
        "",
        "8" + good[1:],
    ):
        with pytest.raises(AlertIdError):
            store.open(bad, "h1", RAISED)
        with pytest.raises(AlertIdError):
            store.manifest(bad)
        with pytest.raises(AlertIdError):
            store.frame_path(bad, "cam-1.jpg")
    assert not store.root.exists()


def test_frame_path_serves_only_files_the_manifest_names(store: EvidenceStore):
    """``..``, the manifest itself, absolute paths and unlisted files are not frames."""
    alert = ulid(RAISED)
    capture = store.open(alert, "h1", RAISED)
    frame = capture.add("cam", at(0), jpeg(1))
    (store.root / alert / "cam-1.jpg").write_bytes(jpeg(2))  # on disk, not in the manifest
    (store.root / "secret-1.jpg").write_bytes(b"outside")
    assert store.frame_path(alert, frame.file) == store.root / alert / frame.file
    for name in (
        "cam-1.jpg",
        "manifest.json",
        "../secret-1.jpg",
        f"../{alert}/{frame.file}",
        str(store.root / alert / frame.file),
        frame.file + "/",
        ".cam-1.jpg",
    ):
        assert store.frame_path(alert, name) is None, name
    with pytest.raises(FrameRefusedError, match="not a camera id"):
        capture.add("../cam", at(1), jpeg(3))
    assert store.frame_path(ulid(RAISED), frame.file) is None  # another alert's name


def test_frames_outside_the_bounds_are_refused_and_nothing_is_written(tmp_path: Path):
    """Not a JPEG, too big, out of the window, too many, after close: refused, with why."""
    store = EvidenceStore(tmp_path, max_frames=3, max_frame_bytes=20_000, clock=FakeClock(RAISED))
    alert = ulid(RAISED)
    capture = store.open(alert, "h1", RAISED, before_s=5, after_s=10)
    refusals = {
        "not a JPEG": (at(0), b"GIF89a" + bytes(100)),
        "over 20000": (at(0), jpeg(1, side=400)),
        "outside": (at(-5.01), jpeg(2)),
        "outside ": (at(10.01), jpeg(3)),
    }
    for reason, (t, data) in refusals.items():
        with pytest.raises(FrameRefusedError, match=reason.strip()):
            capture.add("cam", t, data)
    capture.add("cam", at(-5), jpeg(4))
    capture.add("cam", at(10), jpeg(5))
    capture.add("cam", at(10), jpeg(5))  # the same frame again: kept once
    capture.add("cam", at(10), jpeg(6))  # another frame at the same millisecond
    with pytest.raises(FrameRefusedError, match="already 3 frames"):
        capture.add("cam", at(1), jpeg(7))
    capture.close()
    with pytest.raises(FrameRefusedError, match="complete"):
        capture.add("cam", at(2), jpeg(8))
    names = [f.file for f in store.manifest(alert).frames]  # type: ignore[union-attr]
    stem = f"cam-{round(at(10).timestamp() * 1000)}"
    assert names[1:] == [f"{stem}.jpg", f"{stem}_1.jpg"]
    assert len(list((tmp_path / alert).iterdir())) == 4


def test_open_is_idempotent_per_alert(store: EvidenceStore):
    """The same capture while open; closed, the same evidence comes back closed."""
    alert = ulid(RAISED)
    first = store.open(alert, "h1", RAISED)
    assert store.open(alert, "h1", RAISED) is first
    first.add("cam", at(0), jpeg(1))
    with pytest.raises(ValueError, match="household h1, not h2"):
        store.open(alert, "h2", RAISED)
    done = first.close()
    again = store.open(alert, "h1", RAISED)
    assert again.closed and again.manifest == done
    assert again.close() == done


def test_a_corrupt_manifest_is_reported_and_never_overwritten(store: EvidenceStore):
    """open refuses it, manifest() has none, verify names it, the files stay."""
    alert = ulid(RAISED)
    store.open(alert, "h1", RAISED).add("cam", at(0), jpeg(1))
    (store.root / alert / "manifest.json").write_text("{not json")
    fresh = EvidenceStore(store.root)
    with pytest.raises(ValueError, match="unreadable"):
        fresh.open(alert, "h1", RAISED)
    assert fresh.manifest(alert) is None
    assert fresh.verify(alert) == ["manifest.json: unreadable"]
    assert len(list((store.root / alert).iterdir())) == 2


def test_verify_finds_a_tampered_a_missing_and_an_added_file(store: EvidenceStore):
    """Re-hashing names each file that is not as the manifest wrote it."""
    alert = ulid(RAISED)
    capture = store.open(alert, "h1", RAISED)
    a, b, c = (capture.add("cam", at(i), jpeg(i)) for i in range(3))
    capture.close()
    assert store.verify(alert) == []
    path = store.root / alert / a.file
    data = bytearray(path.read_bytes())
    data[-10] ^= 0x01  # one bit, same size
    path.write_bytes(bytes(data))
    (store.root / alert / b.file).unlink()
    (store.root / alert / "cam-5.jpg").write_bytes(jpeg(9))
    faults = store.verify(alert)
    assert len(faults) == 3
    assert faults[0].startswith(f"{a.file}: sha256 ")
    assert faults[1].startswith(f"{b.file}: missing")
    assert faults[2] == "cam-5.jpg: not in the manifest"
    assert c.file not in " ".join(faults)
    assert store.verify(ulid(RAISED)) == []  # no evidence, nothing wrong


def test_prune_removes_evidence_older_than_the_retention(store: EvidenceStore):
    """Alerts raised over keep_days ago go; newer ones and open captures stay."""
    now = RAISED + timedelta(days=30)
    old, recent = ulid(RAISED - timedelta(hours=1)), ulid(RAISED + timedelta(days=2))
    store.open(old, "h1", RAISED - timedelta(hours=1)).close()
    store.open(recent, "h1", RAISED + timedelta(days=2)).close()
    still_open = ulid(RAISED)
    store.open(still_open, "h2", RAISED - timedelta(days=40))
    (store.root / "not-an-alert").mkdir()
    assert store.prune(now, keep_days=30) == 1
    assert sorted(p.name for p in store.root.iterdir()) == sorted(
        [recent, still_open, "not-an-alert"]
    )
    assert store.prune(now, keep_days=30) == 0


def test_prune_removes_the_oldest_evidence_while_over_max_bytes(tmp_path: Path):
    """Over the byte bound, the oldest alerts go first until all of it fits."""
    store = EvidenceStore(tmp_path, clock=FakeClock(RAISED))
    ids = []
    for day in (3, 1, 2, 4):  # opened out of order: age is raised_at, not the directory's
        raised = RAISED + timedelta(days=day)
        alert = ulid(raised)
        capture = store.open(alert, "h1", raised)
        for i in range(3):
            capture.add("cam", raised + timedelta(seconds=i), jpeg(day * 10 + i, side=96))
        capture.close()
        ids.append((day, alert))
    sizes = {a: sum(p.stat().st_size for p in (tmp_path / a).iterdir()) for _, a in ids}
    newest_two = [a for day, a in ids if day >= 3]
    store.max_bytes = sum(sizes[a] for a in newest_two)
    assert store.prune(RAISED + timedelta(days=5), keep_days=30) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(newest_two)


def test_one_capture_takes_frames_from_several_threads(store: EvidenceStore):
    """Writers racing on one capture: every frame is kept once and the manifest matches."""
    alert = ulid(RAISED)
    capture = store.open(alert, "h1", RAISED)

    def write(n: int) -> None:
        for i in range(15):
            capture.add(f"cam{n}", at(i * 0.5), jpeg(n * 100 + i))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    manifest = capture.close()
    assert len(manifest.frames) == 60
    assert manifest.status is CaptureStatus.COMPLETE
    assert store.verify(alert) == []
