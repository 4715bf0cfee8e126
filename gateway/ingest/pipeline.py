"""The event pipeline: decode → bind → de-duplicate → rules → one commit → alerts announced.

Each batch of arrivals is decided and written in one transaction: the events, what was
rejected, the devices' new state, the alerts and their outbox notices. Only after that commit
are the messages acknowledged to the broker and the in-memory state made current.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from devices.events import (
    Decoded,
    DeviceRef,
    DoorEvent,
    Event,
    Ignored,
    Protocol,
    Rejected,
    StatusEvent,
)
from devices.router import Router
from gateway import metrics
from gateway.alerting import handover
from gateway.alerting.desk import AlertDesk
from gateway.bus import EventStored
from gateway.clock import Clock, epoch, from_epoch
from gateway.ingest.arrival import (
    MAX_CLOCK_BEHIND,
    Arrival,
    digest,
    event_time,
    rejected_record,
    unknown_device,
)
from gateway.ingest.dedup import SeqMemory, SeqVerdict
from gateway.ingest.lookups import BatchLookups
from gateway.ingest.replay import (
    camera_states,
    care_states,
    checked_windows,
    device_states,
    reading_states,
)
from gateway.ingest.status import track
from gateway.store import Store
from gateway.store.care_records import SymptomCheck
from gateway.store.event_data import event_data
from gateway.store.records import (
    DeviceStatus,
    EventRecord,
    OutboxItem,
    Writes,
)
from rules import coverage
from rules.alerts import AlertType
from rules.directory import Binding, Directory
from rules.engine import Watch

log = logging.getLogger("isogate.pipeline")

# The counter's child per outcome, looked up once: ``labels()`` takes a lock and builds a key.
_messages = functools.cache(metrics.MESSAGES.labels)

LAST_TICK = "watch.last_tick"


@dataclass(slots=True)
class _Batch:
    """What deciding one batch stages: its writes, and indexes of what it staged so far."""

    w: Writes
    now: datetime
    """The gateway's time for the whole batch (whom to tell): one reading of the clock."""
    lookups: BatchLookups
    """What the batch asks the store about the messages it may have stored before."""
    touched: dict[str, DeviceStatus] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    seqs: dict[tuple[str, int], str] = field(default_factory=dict)
    """(device key, seq) → digest of the first event staged with it."""
    sent: set[tuple[str, int | None]] = field(default_factory=set)
    """(digest, packet id) of every message staged."""


class Pipeline:
    """Turns arrivals into stored events, rule decisions and alerts."""

    def __init__(
        self, store: Store, desk: AlertDesk, directory: Directory, router: Router, clock: Clock
    ) -> None:
        self.store = store
        self.desk = desk
        self.router = router
        self.clock = clock
        self.directory = directory
        self.watch = Watch(directory, reference=clock.now())
        self.devices: dict[str, DeviceStatus] = {}
        self.seqs = SeqMemory()
        self.behind_limit = MAX_CLOCK_BEHIND

    async def restore(self) -> None:
        """Rebuild the in-memory projection from the store.

        The rules' flags come from every unresolved alert, acknowledged ones included: an alert
        somebody acknowledged is still raised, and a restart must not raise it again.
        """
        now = self.clock.now()
        unresolved = await self.store.unresolved_alerts()
        self.desk.restore(unresolved)
        self.devices = {d.device_id: d for d in await self.store.device_statuses()}
        self.seqs = SeqMemory()
        for key, seq in reversed(await self.store.recent_seqs()):
            if self._bound_key(key):
                self.seqs.add(key, seq)
        self.seqs.install()
        last_tick = await self.store.meta(LAST_TICK)
        if last_tick is not None:
            # Events queued at the broker while the gateway was down are as old as the outage.
            down_for = now - from_epoch(last_tick) + timedelta(hours=1)
            self.behind_limit = max(MAX_CLOCK_BEHIND, down_for)
        doors, devices = device_states(self.devices, unresolved, now)
        residents = await reading_states(self.store, self.directory, now)
        gaps = coverage.CoverageState(
            tuple(
                sorted(
                    (a.household_id, a.raised_at)
                    for a in unresolved
                    if a.type is AlertType.NO_WATCHER_ON_DUTY
                )
            )
        )
        ticked = from_epoch(last_tick) if last_tick is not None else None
        await checked_windows(self.store, self.directory, now, residents)
        self.watch = Watch(
            self.directory,
            reference=now,
            last_tick=ticked,
            doors=doors,
            devices=devices,
            residents=residents,
            gaps=gaps,
            cameras=await camera_states(self.store, self.directory, now, ticked),
            care_states=await care_states(self.store, self.directory, now),
        )

    def _bound_key(self, device_key: str) -> bool:
        """Whether a stored ``protocol:address`` key names a device bound now."""
        protocol, _, address = device_key.partition(":")
        try:
            return self.directory.bound(DeviceRef(Protocol(protocol), address)) is not None
        except ValueError:
            return False

    def use_directory(self, directory: Directory) -> None:
        """A new site revision."""
        self.directory = directory
        self.seqs.keep_only(self._bound_key)
        self.desk.directory = directory
        self.watch.reindex(directory, self.clock.now())

    # --- the hot path -------------------------------------------------------------------------

    async def process(self, arrivals: list[Arrival]) -> list[OutboxItem]:
        """Decide and commit a batch; returns the outbox items to deliver now.

        All or nothing: when deciding or committing fails, every staged change of the rules,
        the alert desk and the sequence memory is dropped and the exception propagates, so that
        the same batch, tried again, decides the same.
        """
        async with self.desk.lock:
            try:
                decoded_all = [
                    self.router.decode(a.topic, a.payload) if a.decoded is None else a.decoded
                    for a in arrivals
                ]
                lookups = BatchLookups(self.store, arrivals, decoded_all, self.directory, self.seqs)
                b = _Batch(Writes(), self.clock.now(), lookups)
                for arrival, decoded in zip(arrivals, decoded_all, strict=True):
                    if not self._take_now(arrival, decoded, b):
                        await self._take(arrival, decoded, b)
                b.w.devices = b.touched
                self.desk.seal(b.w)
                items = await self.store.commit(b.w)
            except BaseException:
                self.discard()
                raise
            self.install(b.w)
        for outcome, n in b.outcomes.items():
            _messages(outcome).inc(n)
        return items

    async def tick(self) -> list[OutboxItem]:
        """Run the time-driven rules."""
        async with self.desk.lock:
            now = self.clock.now()
            w = Writes(meta={LAST_TICK: epoch(now)})
            try:
                for decision in self.watch.tick(now):
                    self.desk.apply(decision, now, w)
                # A reading window that ended without a resident's symptom check, marked.
                w.care.symptom_checks.extend(
                    SymptomCheck(
                        m.household,
                        m.resident,
                        m.window.end,
                        None,
                        "system",
                        "system",
                        m.window.start,
                    )
                    for m in self.watch.marks
                )
                self.desk.escalate_due(now, w)
                last = self.watch.last_tick_before
                if last is not None:
                    await handover.hand_over(self.store, self.desk, self.directory, last, now, w)
                await handover.escalate_unaccepted(self.store, self.desk, self.directory, now, w)
                self.desk.seal(w)
                items = await self.store.commit(w)
            except BaseException:
                self.discard()
                raise
            self.install(w)
            return items

    def discard(self) -> None:
        """A step failed: what it staged never happened."""
        self.desk.discard()
        self.watch.discard()
        self.seqs.discard()

    def install(self, w: Writes) -> None:
        """A step committed: what it staged is now the state."""
        for alert in w.alerts.values():
            if alert.id in w.new_alert_ids and alert.status.value == "open":
                metrics.ALERTS.labels(alert.type.value).inc()
        self.desk.install(w)
        self.watch.install()
        self.seqs.install()
        self.devices.update(w.devices)
        bus = self.desk.bus
        for e in w.events:
            if bus.wants_event(e.kind):
                bus.publish(
                    EventStored(
                        e.household_id,
                        e.device_id,
                        e.kind,
                        e.report,
                        e.data,
                        e.ts.astimezone(self.directory.tz),
                    )
                )

    def _take_now(self, arrival: Arrival, decoded: Decoded, b: _Batch) -> bool:
        """Stage the usual message without a coroutine: one event of a bound device, not marked
        DUP, its sequence number (if any) not seen before. False, with nothing staged, when it
        is anything else: :meth:`_take` then looks it up (in the store where it must)."""
        if arrival.dup or not isinstance(decoded, list) or len(decoded) != 1:
            return False
        event = decoded[0]
        binding = self.directory.bound(event.device)
        if binding is None:
            return False
        key = event.device.key()
        if event.seq is not None and self.seqs.verdict(key, event.seq) is SeqVerdict.SEEN:
            return False
        dig = digest(arrival.topic, arrival.payload)
        self._accept(arrival, event, binding, key, dig, b)
        b.outcomes["accepted"] += 1
        return True

    async def _take(self, arrival: Arrival, decoded: Decoded, b: _Batch) -> None:
        if isinstance(decoded, Ignored):
            b.outcomes["ignored"] += 1
            return
        if isinstance(decoded, Rejected):
            b.outcomes["rejected"] += 1
            key = decoded.device.key() if decoded.device else None
            b.w.rejected.append(rejected_record(arrival, decoded.reason, key))
            return
        dig = digest(arrival.topic, arrival.payload)
        if arrival.dup and await self._redelivered(dig, arrival, decoded, b):
            b.outcomes["duplicate"] += 1
            return
        accepted = False
        for event in decoded:
            binding = self.directory.bound(event.device)
            if binding is None:
                b.outcomes["unknown_device"] += 1
                unknown_device(arrival, event, b.w)
                continue
            key = event.device.key()
            if event.seq is not None and await self._repeated(key, event.seq, dig, b):
                b.outcomes["duplicate"] += 1
                continue
            self._accept(arrival, event, binding, key, dig, b)
            accepted = True
        # One message is counted once, however many events it carried.
        b.outcomes["accepted"] += accepted

    async def _redelivered(
        self, dig: str, arrival: Arrival, events: list[Event], b: _Batch
    ) -> bool:
        """Whether a message marked DUP is one already stored (same content, same packet id).

        Identical content alone is no proof: a door sensor sends the same bytes at every
        opening, and a second opening can arrive marked DUP when the connection dropped before
        it was acknowledged.
        """
        if (dig, arrival.mid) in b.sent:
            return True
        keys = {e.device.key() for e in events}
        return await b.lookups.redelivered(keys, dig, arrival.mid, arrival.received_at)

    async def _repeated(self, key: str, seq: int, dig: str, b: _Batch) -> bool:
        """Whether a ``(device, seq)`` is one seen before and the same message again; when it
        was seen with other content, the device restarted its count and its numbers are
        forgotten."""
        if self.seqs.verdict(key, seq) is not SeqVerdict.SEEN:
            return False
        stored = b.seqs.get((key, seq)) or await b.lookups.seq_digest(key, seq)
        if stored is None or stored == dig:
            return True
        self.seqs.forget(key)
        return False

    def _accept(
        self, arrival: Arrival, event: Event, binding: Binding, key: str, dig: str, b: _Batch
    ) -> None:
        """Note a new event's sequence number, then decide it."""
        if event.seq is not None:
            self.seqs.add(key, event.seq)
            b.seqs.setdefault((key, event.seq), dig)
        self._event(arrival, event, binding, key, dig, b)

    def _event(
        self, arrival: Arrival, event: Event, binding: Binding, key: str, dig: str, b: _Batch
    ) -> None:
        """Decide one new event of a bound device and stage what it writes."""
        if isinstance(event, StatusEvent) and event.online:
            prev = b.touched.get(binding.device.id) or self.devices.get(binding.device.id)
            if prev is not None and prev.online is False:
                self.seqs.forget(key)  # back from offline: it may count from zero again
        at, flag = event_time(event, arrival.received_at, binding, self.behind_limit)
        now = b.now
        outcome = self.watch.on_event(binding, event, at, now)
        b.w.events.append(
            EventRecord(
                arrival.received_at,
                at,
                arrival.source,
                arrival.topic,
                key,
                binding.device.id,
                binding.household.id,
                event.kind.value,
                event.seq,
                outcome.report,
                event_data(event),
                dig,
                arrival.mid,
                flag,
            )
        )
        b.sent.add((dig, arrival.mid))
        door = self.watch.doors.get(binding.device.id) if isinstance(event, DoorEvent) else None
        track(b.touched, self.devices, binding, event, at, door)
        for decision in outcome.decisions:
            self.desk.apply(decision, now, b.w)


__all__ = ["Pipeline"]
