"""The cameras of a site: frames in, analysed in worker threads, their events into the pipeline.

Frames come from the broker (``isogate/cam/<id>/frame``, subscribed at QoS 0: a frame is worth
something only now, so a stale backlog is neither queued by the broker nor wanted) or from a
pulled source's reader thread. Each camera has a slot: one frame in analysis and at most one
waiting; a newer frame replaces the waiting one, and frames over the camera's ``fps`` are
dropped at once, so a camera flooding the gateway costs one frame of memory. Analysis (decode,
motion, tamper) runs in a thread pool; the event loop only routes.

What the analysis finds (motion began or ended, tamper, summaries, bad frames) goes to the
pipeline as arrivals of source ``camera`` and is stored, decided and alerted on like any device
event. Between the analysis and the pipeline a bounded queue absorbs a database outage.

Memory: per camera one frame in analysis, one waiting, and its pre-roll (``PreRoll``, 6 MiB by
default); the outgoing queue holds at most ``OUT_MAX`` small events.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from devices.events import DeviceRef, Event, FrameEvent, Protocol, Rejected
from gateway import metrics
from gateway.bus import EventStored
from gateway.camera.captures import Captures
from gateway.camera.frigate import FrigateSnapshots
from gateway.camera.preroll import PreRoll
from gateway.camera.recent import Recent
from gateway.clock import Clock, epoch
from gateway.ingest.arrival import Arrival
from gateway.store.records import Alert
from rules.directory import Directory
from rules.health import allowance_s
from rules.site import Device, DeviceKind

if TYPE_CHECKING:
    # The analysis needs OpenCV and numpy (~55 MiB resident): imported when the site binds its
    # first camera, so a gateway of a site without cameras never loads them.
    from gateway.camera.analysis import CameraAnalyser, Findings

log = logging.getLogger("isogate.camera")

OUT_MAX = 10_000
"""Events waiting for the pipeline (a database outage); past it the oldest are dropped."""
CAPTURE_LATE_S = 3.0
"""Every frame is kept this long beyond ``evidence_before_s``: a capture that opens up to this
late after its alert (it opens as the alert is committed, within milliseconds) still finds every
frame from before it. Older frames are kept only where they showed motion."""
UNKNOWN_EVERY_S = 60.0
"""An unbound camera is reported to the technician's unknown-device list this often."""
UNKNOWN_MAX = 1024
"""Unbound camera ids remembered (for the rate limit above)."""
PRUNE_EVERY_S = 3600.0
"""Evidence past its retention is removed this often (and at start)."""
FRESH_S = 30.0
"""A camera whose last good frame is this recent can give evidence for a new alert."""


@dataclass(slots=True)
class Slot:
    """One camera's place in the analysis: its analyser, what runs and what waits."""

    analyser: CameraAnalyser
    household: str
    busy: bool = False
    waiting: tuple[bytes, float] | None = None
    last_taken: float = float("-inf")


@dataclass(slots=True)
class Pending:
    """Arrivals for the pipeline, bounded."""

    items: deque[Arrival] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: int = 0


class CameraHub:
    """Analysis of every bound camera's frames, and the evidence around door alerts."""

    def __init__(
        self,
        directory: Callable[[], Directory],
        feed: Callable[[list[Arrival]], Awaitable[None]],
        captures: Captures | None,
        clock: Clock,
        data_dir: Path | None,
        *,
        workers: int = 2,
        base_topic: str = "isogate",
    ) -> None:
        """A hub for the site ``directory()`` gives; ``feed`` stores arrivals (waits outages)."""
        self.directory = directory
        self.feed = feed
        self.captures = captures
        self.clock = clock
        self.data_dir = data_dir
        self.base_topic = base_topic
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="camera")
        self._slots: dict[str, Slot] = {}
        # Per site revision: the slots by household and the cameras read here, so that neither
        # an alert nor the readers' follow-up each second walks every camera.
        self._by_household: dict[str, list[Slot]] = {}
        self._pulled: list[Device] = []
        self._indexed: Directory | None = None
        self._out = Pending()
        self._unknown: Recent[str, float] = Recent(UNKNOWN_MAX)
        self._frigate: dict[str, PreRoll] = {}  # Frigate cameras: their events' snapshots
        self.snapshots = FrigateSnapshots(directory, self.preroll, captures)

    # --- the site's cameras -------------------------------------------------------------------

    def refresh(self) -> None:
        """Follow the site: an analyser per bound camera, kept while its binding is unchanged."""
        directory = self.directory()
        if directory is self._indexed:
            return
        policy = directory.policy
        slots: dict[str, Slot] = {}
        frigate: dict[str, PreRoll] = {}
        for b in directory.bindings():
            dev = b.device
            if dev.kind is not DeviceKind.CAMERA:
                continue
            if dev.protocol is Protocol.FRIGATE:
                keep = policy.evidence_before_s + policy.camera_window_s + 1
                frigate[dev.id] = self._frigate.get(dev.id) or PreRoll(dense_s=keep, keep_s=keep)
                continue
            old = self._slots.get(dev.id)
            if old is not None and old.analyser.device == dev and old.household == b.household.id:
                slots[dev.id] = old
                continue
            from gateway.camera.analysis import CameraAnalyser, Timing

            ring = PreRoll(
                dense_s=policy.evidence_before_s + CAPTURE_LATE_S,
                keep_s=policy.evidence_before_s + policy.camera_window_s + 1,
            )
            ref = self.data_dir / "cameras" / dev.id / "reference.png" if self.data_dir else None
            # Summaries are the camera's sign of life: four within its offline allowance, so it
            # is offline between 3/4 and all of its allowance after its last frame.
            timing = Timing(summary_s=min(60.0, allowance_s(dev, directory) / 4))
            analyser = CameraAnalyser(dev, ring, reference=ref, timing=timing)
            slots[dev.id] = Slot(analyser, b.household.id)
        self._slots = slots
        self._frigate = frigate
        self._by_household = {}
        for slot in slots.values():
            self._by_household.setdefault(slot.household, []).append(slot)
        self._pulled = [s.analyser.device for s in slots.values() if s.analyser.device.source]
        self._indexed = directory

    def pulled(self) -> list[Device]:
        """The bound cameras the gateway reads itself (``protocol: url``)."""
        self.refresh()
        return self._pulled

    def preroll(self, camera_id: str) -> PreRoll | None:
        """A camera's recent frames."""
        slot = self._slots.get(camera_id)
        return slot.analyser.preroll if slot else self._frigate.get(camera_id)

    def can_see(self, household_id: str) -> bool:
        """Whether a camera of the household sent a good frame lately (evidence will follow)."""
        self.refresh()
        now = epoch(self.clock.now())
        for slot in self._by_household.get(household_id, ()):
            latest = slot.analyser.preroll.latest()
            if latest is not None and now - latest.t <= FRESH_S:
                return True
        # A Frigate camera gives a snapshot of each person it tracks, when Frigate is known.
        hh = self.directory().households.get(household_id)
        return hh is not None and any(
            d.kind is DeviceKind.CAMERA and d.protocol is Protocol.FRIGATE and d.source
            for d in hh.devices
        )

    def on_event(self, item: EventStored) -> None:
        """A stored event: a Frigate person report fetches its snapshot."""
        self.refresh()
        self.snapshots.on_event(item)

    # --- frames in ----------------------------------------------------------------------------

    def on_mqtt_frame(self, topic: str, payload: bytes, received_at: datetime) -> None:
        """A frame from the broker, ``<base>/cam/<id>/frame`` (on the event loop)."""
        camera_id = topic[len(self.base_topic) + 5 : -len("/frame")]
        self.on_frame(camera_id, payload, epoch(received_at))

    def on_frame(self, camera_id: str, jpeg: bytes, t: float) -> None:
        """A camera's frame taken at ``t`` (epoch seconds); on the event loop."""
        self.refresh()
        slot = self._slots.get(camera_id)
        if slot is None:
            metrics.CAMERA_FRAMES.labels("unknown").inc()
            self._unbound(camera_id, len(jpeg), t)
            return
        if 0 <= t - slot.last_taken < 0.9 / slot.analyser.device.fps:  # (a clock set back: taken)
            metrics.CAMERA_FRAMES.labels("over_rate").inc()
            return
        slot.last_taken = t
        if slot.busy:
            if slot.waiting is not None:
                metrics.CAMERA_FRAMES.labels("busy").inc()
            slot.waiting = (jpeg, t)
            return
        self._start(slot, jpeg, t)

    def on_fault(self, camera_id: str, reason: str) -> None:
        """A pulled source's reader could not read (on the event loop): into the rejected list."""
        slot = self._slots.get(camera_id)
        if slot is None:
            return
        topic = f"{self.base_topic}/cam/{camera_id}/source"
        ref = slot.analyser.ref
        self._put(self._arrival(topic, reason.encode(), Rejected(reason[:400], device=ref)))

    def _start(self, slot: Slot, jpeg: bytes, t: float) -> None:
        slot.busy = True
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(self._pool, self._analyse, slot, jpeg, t)
        fut.add_done_callback(lambda f: self._finished(slot, f))

    def _analyse(self, slot: Slot, jpeg: bytes, t: float) -> Findings:
        """In a worker thread: decode, detect, keep; live frames into open captures."""
        started = time.perf_counter()
        findings = slot.analyser.analyse(jpeg, t)
        metrics.CAMERA_ANALYSIS_SECONDS.observe(time.perf_counter() - started)
        if findings.kept is not None and self.captures is not None:
            self.captures.add_live(slot.household, slot.analyser.device.id, findings.kept)
        return findings

    def _finished(self, slot: Slot, fut: asyncio.Future[Findings]) -> None:
        slot.busy = False
        if fut.cancelled():
            return
        exc = fut.exception()
        if exc is not None:
            # The detectors are pure numpy; a fault is a bug, logged, and the next frame goes on.
            log.error("camera %s: analysis failed: %r", slot.analyser.device.id, exc)
            from gateway.camera.analysis import Findings

            findings = Findings(rejected=[f"analysis fault: {type(exc).__name__}: {exc}"])
        else:
            findings = fut.result()
        metrics.CAMERA_FRAMES.labels("analysed" if findings.kept else "bad").inc()
        self._found(slot, findings)
        if slot.waiting is not None and slot.analyser is self._current(slot):
            jpeg, t = slot.waiting
            slot.waiting = None
            self._start(slot, jpeg, t)

    def _current(self, slot: Slot) -> CameraAnalyser | None:
        now = self._slots.get(slot.analyser.device.id)
        return now.analyser if now is not None else None

    def _found(self, slot: Slot, findings: Findings) -> None:
        dev = slot.analyser.device
        topic = f"{self.base_topic}/cam/{dev.id}/analysis"
        for reason in findings.rejected:
            rejected = Rejected(reason[:400], device=slot.analyser.ref)
            self._put(self._arrival(topic, reason.encode(), rejected))
        for event in findings.events:
            self._put(self._arrival(topic, _describe(event), [event]))

    def _unbound(self, camera_id: str, size: int, t: float) -> None:
        last = self._unknown.get(camera_id)
        if last is not None and 0 <= t - last < UNKNOWN_EVERY_S:
            return
        self._unknown.put(camera_id, t)
        ref = DeviceRef(Protocol.MQTT, camera_id[:128])
        event = FrameEvent(device=ref, size=size, width=0, height=0)
        topic = f"{self.base_topic}/cam/{camera_id}/frame"[:512]
        self._put(self._arrival(topic, _describe(event), [event]))

    def _arrival(self, topic: str, payload: bytes, decoded: list[Event] | Rejected) -> Arrival:
        return Arrival("camera", topic, payload, self.clock.now(), decoded=decoded)

    def _put(self, arrival: Arrival) -> None:
        out = self._out
        if len(out.items) >= OUT_MAX:
            out.items.popleft()
            out.dropped += 1
            if out.dropped == 1 or out.dropped % 1000 == 0:
                log.error("camera events waiting too long; %d dropped", out.dropped)
        out.items.append(arrival)
        out.ready.set()

    async def on_alert(self, alert: Alert) -> None:
        """An alert was announced: a door or camera alert with a snapshot link gets evidence."""
        if self.captures is not None:
            await self.captures.on_alert(alert)

    # --- the tasks ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Hand the analysis's events to the pipeline and close evidence on time (a task)."""
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._forward(), name="camera.forward")
                tg.create_task(self._housekeeping(), name="camera.housekeeping")
        finally:
            await self.snapshots.close()
            if self.captures is not None:
                await self.captures.close_all()

    async def _forward(self) -> None:
        out = self._out
        while True:
            await out.ready.wait()
            batch = list(out.items)[:200]
            if not batch:
                out.ready.clear()
                continue
            await self.feed(batch)  # waits out a database outage, then returns
            sent = {id(a) for a in batch}  # the oldest may have been dropped meanwhile
            while out.items and id(out.items[0]) in sent:
                out.items.popleft()
            if not out.items:
                out.ready.clear()

    async def _housekeeping(self) -> None:
        pruned = float("-inf")
        while True:
            await asyncio.sleep(0.5)
            self.refresh()
            if self.captures is None:
                continue
            await self.captures.close_due()
            if time.monotonic() - pruned >= PRUNE_EVERY_S:
                pruned = time.monotonic()
                await self.captures.prune()

    def close(self) -> None:
        """Let the analysis threads go (at the gateway's end; frames under analysis finish)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _describe(event: Event) -> bytes:
    """A short JSON of an event for the log's excerpt and fingerprint (never the image)."""
    body = {"kind": event.kind.value, "ts": event.ts.isoformat() if event.ts else None}
    for name in ("active", "score", "fault", "frames", "bad", "tamper", "size"):
        value = getattr(event, name, None)
        if value is not None:
            body[name] = value
    return json.dumps(body, separators=(",", ":")).encode()
