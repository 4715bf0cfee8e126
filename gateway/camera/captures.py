"""Evidence around door alerts: the frames before an alert from the pre-roll, those after live.

When a door or camera alert is raised for a household with a camera, a capture opens: the
pre-roll's frames from ``evidence_before_s`` before the alert go in at once, and every frame the
household's cameras send until ``evidence_after_s`` after it is added as it comes. A door alert
also takes the motion frames within ``camera_window_s`` either side (the camera seeing who
opened), so its capture runs to the later of the two horizons. Then the manifest is closed.

File I/O runs in threads (``asyncio.to_thread`` here, the analysis thread for live frames);
the event loop only keeps the list of open captures.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from gateway.camera.evidence import Capture, EvidenceStore
from gateway.camera.evidence_manifest import FrameRefusedError
from gateway.camera.preroll import Kept, PreRoll
from gateway.camera.recent import Recent
from gateway.clock import Clock, epoch
from gateway.store.records import Alert
from rules.alerts import AlertType
from rules.directory import Directory
from rules.site import DeviceKind

log = logging.getLogger("isogate.camera")

EVIDENCE_TYPES = frozenset(
    {AlertType.DOOR_BREACH, AlertType.DOOR_LEFT_OPEN, AlertType.TAMPER, AlertType.MOTION_AT_DOOR}
)
"""Alerts that get camera evidence: those about the door and the camera."""
DOOR_TYPES = frozenset({AlertType.DOOR_BREACH, AlertType.DOOR_LEFT_OPEN})
MAX_OPEN = 256
"""Captures open at once; past it the oldest is closed early (a storm of alerts)."""
REMEMBERED = 4096
"""Alert ids remembered as captured, so a re-announced alert does not capture again."""


@dataclass(slots=True)
class Open:
    """A capture still taking frames."""

    alert_id: str
    household: str
    capture: Capture
    until: float  # epoch seconds
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False


class Captures:
    """The open captures, by household; opened on alerts, fed with frames, closed on time."""

    def __init__(
        self,
        store: EvidenceStore,
        directory: Callable[[], Directory],
        prerolls: Callable[[str], PreRoll | None],
        clock: Clock,
    ) -> None:
        """Captures written to ``store``; ``prerolls`` gives a camera's recent frames by id."""
        self.store = store
        self.directory = directory
        self.prerolls = prerolls
        self.clock = clock
        self._open: dict[str, Open] = {}
        self._by_household: dict[str, tuple[Open, ...]] = {}
        self._done: Recent[str, bool] = Recent(REMEMBERED)

    def cameras(self, household: str) -> list[str]:
        """The ids of the household's cameras."""
        hh = self.directory().households.get(household)
        return [d.id for d in hh.devices if d.kind is DeviceKind.CAMERA] if hh else []

    async def on_alert(self, alert: Alert) -> None:
        """A new alert with a snapshot link: open its capture, with the pre-roll in it."""
        if alert.type not in EVIDENCE_TYPES or not alert.snapshot:
            return
        if alert.id in self._open or alert.id in self._done:
            return
        policy = self.directory().policy
        before, after = policy.evidence_before_s, policy.evidence_after_s
        if alert.type in DOOR_TYPES:
            before = max(before, policy.camera_window_s)
            after = max(after, policy.camera_window_s)
        raised = epoch(alert.raised_at)
        capture = await asyncio.to_thread(
            self.store.open,
            alert.id,
            alert.household_id,
            alert.raised_at,
            before_s=before,
            after_s=after,
        )
        entry = Open(alert.id, alert.household_id, capture, raised + after)
        self._done.put(alert.id, True)
        self._open[alert.id] = entry
        self._index(alert.household_id)
        if len(self._open) > MAX_OPEN:
            oldest = min(self._open.values(), key=lambda o: o.until)
            await self._close(oldest)
        frames: list[tuple[str, Kept]] = []
        for cam in self.cameras(alert.household_id):
            ring = self.prerolls(cam)
            if ring is None:
                continue
            dense_from = raised - policy.evidence_before_s
            for k in ring.between(raised - before, raised + after):
                if k.t >= dense_from or k.score > 0:
                    frames.append((cam, k))
        await asyncio.to_thread(self._write, entry, frames)

    def add_live(self, household: str, camera: str, kept: Kept) -> None:
        """A camera's new frame (called from the analysis thread): into its open captures."""
        for entry in self._by_household.get(household, ()):
            if kept.t <= entry.until:
                self._write(entry, [(camera, kept)])

    async def close_due(self) -> None:
        """Close the captures whose time is up."""
        now = epoch(self.clock.now())
        for entry in [o for o in self._open.values() if o.until < now]:
            await self._close(entry)

    async def prune(self) -> int:
        """Remove evidence older than the policy's ``evidence_days`` (or past the byte bound)."""
        days = self.directory().policy.evidence_days
        removed = await asyncio.to_thread(self.store.prune, self.clock.now(), days)
        if removed:
            log.info("evidence of %d alerts removed (kept %d days)", removed, days)
        return removed

    async def close_all(self) -> None:
        """Close every open capture (shutdown)."""
        for entry in list(self._open.values()):
            await self._close(entry)

    async def _close(self, entry: Open) -> None:
        self._open.pop(entry.alert_id, None)
        self._index(entry.household)

        def close() -> None:
            with entry.lock:
                entry.closed = True
                entry.capture.close()

        try:
            await asyncio.to_thread(close)
        except OSError as exc:
            log.error("evidence of alert %s could not be closed: %s", entry.alert_id, exc)

    def _write(self, entry: Open, frames: list[tuple[str, Kept]]) -> None:
        with entry.lock:
            if entry.closed:
                return
            for cam, k in frames:
                t = datetime.fromtimestamp(k.t, UTC)
                if not entry.capture.wants(t):
                    continue
                try:
                    entry.capture.add(cam, t, k.jpeg, k.score)
                except FrameRefusedError as exc:  # full, or not a JPEG: the others still go in
                    log.warning("evidence of alert %s: %s", entry.alert_id, exc)
                except OSError as exc:
                    log.error("evidence of alert %s: frame not kept: %s", entry.alert_id, exc)
                    return

    def _index(self, household: str) -> None:
        # A tuple replaced whole: the analysis threads read it without a lock.
        self._by_household[household] = tuple(
            o for o in self._open.values() if o.household == household
        )
