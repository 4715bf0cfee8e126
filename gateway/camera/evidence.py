"""Evidence of door alerts: JPEG frames kept as files beside the database, with a manifest.

Layout: ``<root>/<alert_id>/<camera>-<ms>.jpg`` and ``<root>/<alert_id>/manifest.json`` (see
:class:`~gateway.camera.evidence_manifest.Manifest`: alert, household, times, and per frame the
camera, time, size, score and SHA-256). :class:`EvidenceStore` opens captures (the writing side,
:mod:`gateway.camera.evidence_capture`), reads what was kept for the API, checks it against its
hashes and prunes it by age and by size.

File I/O here blocks: the asyncio side calls it with ``asyncio.to_thread``. Each capture has its
own lock (one writer per capture is the intended use, several are safe); the store's lock keeps
``open`` and ``prune`` from racing over the same directory.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from datetime import datetime, timedelta
from pathlib import Path

from pydantic import ValidationError

from gateway.camera.evidence_capture import (
    MANIFEST,
    MAX_BYTES,
    MAX_CAPTURE_BYTES,
    MAX_FRAME_BYTES,
    MAX_FRAMES,
    Capture,
    Limits,
)
from gateway.camera.evidence_manifest import (
    AlertIdError,
    CaptureStatus,
    EvidenceFrame,
    FrameRefusedError,
    Manifest,
    is_alert_id,
    is_frame_name,
    ulid_time,
)
from gateway.clock import Clock, SystemClock

__all__ = [
    "MAX_BYTES",
    "AlertIdError",
    "Capture",
    "CaptureStatus",
    "EvidenceFrame",
    "EvidenceStore",
    "FrameRefusedError",
    "Limits",
    "Manifest",
]

log = logging.getLogger("isogate.evidence")


def _size(directory: Path) -> int:
    """Bytes of the regular files in ``directory``."""
    with os.scandir(directory) as entries:
        return sum(e.stat().st_size for e in entries if e.is_file(follow_symlinks=False))


class EvidenceStore:
    """Alerts' evidence under one directory (by default ``<data_dir>/evidence``).

    Args:
        root: The directory; made on the first capture.
        max_bytes: Bound on all evidence together, kept by :meth:`prune`.
        max_frames: Frames per alert at most.
        max_frame_bytes: Bytes per frame at most.
        max_capture_bytes: Bytes per alert at most.
        clock: The gateway's clock, for the manifest's ``created_at``/``updated_at``.
    """

    def __init__(
        self,
        root: Path,
        *,
        max_bytes: int = MAX_BYTES,
        max_frames: int = MAX_FRAMES,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        max_capture_bytes: int = MAX_CAPTURE_BYTES,
        clock: Clock | None = None,
    ) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.limits = Limits(max_frames, max_frame_bytes, max_capture_bytes)
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._open: dict[str, Capture] = {}

    def _dir(self, alert_id: str) -> Path:
        if not is_alert_id(alert_id):
            raise AlertIdError(alert_id)
        return self.root / alert_id

    def open(
        self,
        alert_id: str,
        household_id: str,
        raised_at: datetime,
        *,
        before_s: float = 5.0,
        after_s: float = 10.0,
    ) -> Capture:
        """The capture of an alert's evidence; the same one for the same alert.

        A capture already open is returned as it is; one on disk is taken up again (a crash
        while ``capturing`` resumes, with files the manifest does not name removed; a
        ``complete`` one comes back closed). Otherwise a new directory and manifest are made.

        Args:
            alert_id: The alert (a ULID).
            household_id: Its household; must match evidence already kept for the alert.
            raised_at: When it was raised (aware).
            before_s: Frames are kept from this long before ``raised_at``...
            after_s: ...to this long after it (the site's ``evidence_before_s``/``_after_s``).

        Raises:
            AlertIdError: ``alert_id`` is not a ULID.
            ValueError: Evidence of this alert is kept for another household, or its
                manifest is unreadable (it is left as it is), or ``raised_at`` has no timezone.
        """
        directory = self._dir(alert_id)
        if raised_at.tzinfo is None:
            raise ValueError("raised_at has no timezone")
        with self._lock:
            capture = self._open.get(alert_id)
            if capture is None:
                try:
                    kept = self._load(alert_id)
                except (OSError, ValidationError) as exc:
                    # Evidence is never overwritten: what is there stays for someone to look at.
                    raise ValueError(f"evidence of {alert_id} is unreadable: {exc}") from exc
                if kept is None:
                    window = (before_s, after_s)
                    capture = self._create(directory, alert_id, household_id, raised_at, window)
                else:
                    capture = self._capture(directory, kept)
                    if not capture.closed:
                        self._tidy(directory, kept)
                if not capture.closed:
                    self._open[alert_id] = capture
            if capture.household_id != household_id:
                raise ValueError(
                    f"evidence of {alert_id} is kept for household {capture.household_id},"
                    f" not {household_id}"
                )
            return capture

    def _create(
        self,
        directory: Path,
        alert_id: str,
        household_id: str,
        raised_at: datetime,
        window: tuple[float, float],
    ) -> Capture:
        now = self.clock.now()
        manifest = Manifest(
            alert_id=alert_id,
            household=household_id,
            raised_at=raised_at,
            before_s=window[0],
            after_s=window[1],
            cameras=[],
            frames=[],
            best=None,
            status=CaptureStatus.CAPTURING,
            created_at=now,
            updated_at=now,
        )
        # Only a crash between mkdir and the first manifest leaves a directory without one.
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        capture = self._capture(directory, manifest)
        capture.save(manifest)
        return capture

    @staticmethod
    def _tidy(directory: Path, manifest: Manifest) -> None:
        """Remove what a crash left that the manifest does not name (temporary files, a frame
        written just before the manifest would have named it)."""
        named = {MANIFEST, *(f.file for f in manifest.frames)}
        for entry in directory.iterdir():
            if entry.name not in named and entry.is_file():
                entry.unlink()

    def _capture(self, directory: Path, manifest: Manifest) -> Capture:
        return Capture(
            directory, manifest, limits=self.limits, clock=self.clock, on_close=self._closed
        )

    def _closed(self, capture: Capture) -> None:
        with self._lock:
            if self._open.get(capture.alert_id) is capture:
                del self._open[capture.alert_id]

    def _load(self, alert_id: str) -> Manifest | None:
        """The manifest on disk; None when there is none (OSError, ValidationError: unreadable)."""
        try:
            return Manifest.model_validate_json((self._dir(alert_id) / MANIFEST).read_bytes())
        except FileNotFoundError:
            return None

    def _read(self, alert_id: str) -> Manifest | None:
        try:
            return self._load(alert_id)
        except (OSError, ValidationError) as exc:
            log.warning("evidence of %s: unreadable manifest: %s", alert_id, exc)
            return None

    def manifest(self, alert_id: str) -> Manifest | None:
        """An alert's manifest as last written; None when no evidence is kept.

        Raises:
            AlertIdError: ``alert_id`` is not a ULID.
        """
        return self._read(alert_id)

    def frame_path(self, alert_id: str, name: str) -> Path | None:
        """The file of one frame the manifest names; None for any other name.

        Raises:
            AlertIdError: ``alert_id`` is not a ULID.
        """
        directory = self._dir(alert_id)
        if not is_frame_name(name):
            return None
        manifest = self._read(alert_id)
        if manifest is None or manifest.frame(name) is None:
            return None
        path = directory / name
        return path if path.is_file() and not path.is_symlink() else None

    def best(self, alert_id: str) -> Path | None:
        """The file of an alert's best frame; None when it has none."""
        manifest = self._read(alert_id)
        if manifest is None or manifest.best is None:
            return None
        return self.frame_path(alert_id, manifest.best)

    def verify(self, alert_id: str) -> list[str]:
        """Re-hash an alert's files against its manifest.

        Returns:
            One line per fault (a file missing, altered, or not in the manifest; the manifest
            unreadable), empty when all is as written.

        Raises:
            AlertIdError: ``alert_id`` is not a ULID.
        """
        directory = self._dir(alert_id)
        if not (directory / MANIFEST).exists():
            return [] if not directory.exists() else [f"{MANIFEST}: missing"]
        manifest = self._read(alert_id)
        if manifest is None:
            return [f"{MANIFEST}: unreadable"]
        faults = []
        for f in manifest.frames:
            try:
                data = (directory / f.file).read_bytes()
            except OSError as exc:
                faults.append(f"{f.file}: missing ({exc.strerror})")
                continue
            sha = hashlib.sha256(data).hexdigest()
            if sha != f.sha256 or len(data) != f.bytes:
                faults.append(
                    f"{f.file}: sha256 {sha[:16]}… and {len(data)} bytes, the manifest says"
                    f" {f.sha256[:16]}… and {f.bytes}"
                )
        named = {MANIFEST, *(f.file for f in manifest.frames)}
        writing = alert_id in self._open
        for p in sorted(directory.iterdir()):
            temporary = p.name.startswith(".") and p.name.endswith(".tmp")
            if p.name not in named and not (writing and temporary):
                faults.append(f"{p.name}: not in the manifest")
        return faults

    def prune(self, now: datetime, keep_days: int) -> int:
        """Remove alerts' evidence raised over ``keep_days`` before ``now``, then the oldest
        while all of it is over ``max_bytes``. Captures still open are never removed.

        Returns:
            How many alerts' evidence was removed.
        """
        if not self.root.is_dir():
            return 0
        removed = 0
        with self._lock:
            kept: list[tuple[datetime, str, int]] = []
            for entry in self.root.iterdir():
                if not entry.is_dir() or not is_alert_id(entry.name):
                    continue  # not ours: left alone
                manifest = self._read(entry.name)
                raised = manifest.raised_at if manifest else ulid_time(entry.name)
                if entry.name in self._open:
                    kept.append((now, entry.name, _size(entry)))
                elif raised < now - timedelta(days=keep_days):
                    shutil.rmtree(entry)
                    removed += 1
                else:
                    kept.append((raised, entry.name, _size(entry)))
            total = sum(size for *_, size in kept)
            for _raised, alert_id, size in sorted(kept):
                if total <= self.max_bytes:
                    break
                if alert_id in self._open:
                    continue
                shutil.rmtree(self.root / alert_id)
                total -= size
                removed += 1
        if removed:
            log.info("evidence pruned: %d alerts' files removed", removed)
        return removed
