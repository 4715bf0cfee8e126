"""The event pipeline: decode → bind → de-duplicate → rules → one commit → alerts announced.

Each batch of arrivals is decided and written in one transaction: the events, what was
rejected, the devices' new state, the alerts and their outbox notices. Only after that commit
are the messages acknowledged to the broker and the in-memory state made current.
"""

from __future__ import annotations

import hashlib
import logging
from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from devices.events import (
    Decoded,
    DoorEvent,
    Event,
    Ignored,
    Protocol,
    Rejected,
    StatusEvent,
    TemperatureEvent,
)
from devices.router import Router
from gateway import metrics
from gateway.alerting import handover
from gateway.alerting.desk import AlertDesk
from gateway.bus import EventStored
from gateway.clock import Clock, epoch, from_epoch
from gateway.store import Store
from gateway.store.event_data import TemperatureData, event_data
from gateway.store.records import (
    DeviceStatus,
    EventRecord,
    OutboxItem,
    RejectedRecord,
    UnknownSighting,
    Writes,
)
from rules import coverage, health, readings
from rules.alerts import AlertType
from rules.directory import Binding, Directory
from rules.door import DoorState
from rules.engine import Watch

log = logging.getLogger("isogate.pipeline")

SEQ_MEMORY = 4096  # sequence numbers remembered per device for de-duplication
REDELIVERY_WINDOW = timedelta(hours=6)
LAST_TICK = "watch.last_tick"
MAX_CLOCK_AHEAD = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A message from a device link. ``decoded`` is set by links that decode themselves."""

    source: str
    topic: str
    payload: bytes
    received_at: datetime
    dup: bool = False
    decoded: Decoded | None = None


def excerpt(payload: bytes, limit: int = 300) -> str:
    """A printable excerpt of a payload for people to read."""
    text = payload[:limit].decode("utf-8", errors="backslashreplace")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text + ("…" if len(payload) > limit else "")


def digest(topic: str, payload: bytes) -> str:
    """Fingerprint of a message, to spot a broker's redelivery of one already stored."""
    return hashlib.md5(topic.encode() + b"\0" + payload, usedforsecurity=False).hexdigest()


class SeenSeqs:
    """The newest sequence numbers per device: a repeated (device, seq) is a duplicate."""

    def __init__(self) -> None:
        self._by_device: dict[str, tuple[set[int], deque[int]]] = {}

    def seen(self, device_key: str, seq: int) -> bool:
        """Whether this (device, seq) was already accepted."""
        entry = self._by_device.get(device_key)
        return entry is not None and seq in entry[0]

    def add(self, device_key: str, seq: int) -> None:
        """Remember an accepted (device, seq)."""
        seqs, order = self._by_device.setdefault(device_key, (set(), deque()))
        seqs.add(seq)
        order.append(seq)
        if len(order) > SEQ_MEMORY:
            seqs.discard(order.popleft())


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
        self.seqs = SeenSeqs()

    async def restore(self) -> None:
        """Rebuild the in-memory projection from the store."""
        now = self.clock.now()
        active = await self.store.active_alerts()
        self.desk.restore(active)
        self.devices = {d.device_id: d for d in await self.store.device_statuses()}
        self.seqs = SeenSeqs()
        for key, seq in reversed(await self.store.recent_seqs()):
            self.seqs.add(key, seq)
        last_tick = await self.store.meta(LAST_TICK)
        self.watch = Watch(
            self.directory,
            reference=now,
            last_tick=from_epoch(last_tick) if last_tick is not None else None,
        )
        raised = {(a.type, a.device_id) for a in active}
        for dev_id, d in self.devices.items():
            if d.door_open is not None:
                self.watch.doors[dev_id] = DoorState(
                    d.door_open, d.door_changed_at, (AlertType.DOOR_LEFT_OPEN, dev_id) in raised
                )
            link = (
                health.Link.UNKNOWN
                if d.online is None
                else (health.Link.ONLINE if d.online else health.Link.OFFLINE)
            )
            self.watch.health[dev_id] = health.DeviceHealth(
                watched_since=now,
                last_seen=d.last_seen,
                link=link,
                link_since=d.status_at,
                offline_raised=(AlertType.DEVICE_OFFLINE, dev_id) in raised,
                battery=d.battery,
                low_battery_raised=(AlertType.LOW_BATTERY, dev_id) in raised,
                tamper_raised=(AlertType.TAMPER, dev_id) in raised,
            )
        # Readings of the last two days tell which windows are already satisfied.
        for e in await self.store.events_since("temperature", now - timedelta(days=2)):
            binding = self.directory.device(e.device_id or "")
            if binding is None or binding.device.resident is None:
                continue
            if not isinstance(e.data, TemperatureData):
                continue
            resident = (binding.household.id, binding.device.resident)
            self.watch.readings[resident], _ = readings.step(
                self.watch.readings.get(resident, readings.ReadingState()),
                e.data.celsius,
                e.ts,
                binding,
                self.directory,
            )
        self.watch.coverage = coverage.CoverageState(
            tuple(
                sorted(
                    (a.household_id, a.raised_at)
                    for a in active
                    if a.type is AlertType.NO_WATCHER_ON_DUTY
                )
            )
        )

    def use_directory(self, directory: Directory) -> None:
        """A new site revision."""
        self.directory = directory
        self.desk.directory = directory
        self.watch.reindex(directory, self.clock.now())

    # --- the hot path -------------------------------------------------------------------------

    async def process(self, arrivals: list[Arrival]) -> list[OutboxItem]:
        """Decide and commit a batch; returns the outbox items to deliver now."""
        async with self.desk.lock:
            w = Writes()
            touched: dict[str, DeviceStatus] = {}
            for arrival in arrivals:
                decoded = arrival.decoded
                if decoded is None:
                    decoded = self.router.decode(arrival.topic, arrival.payload)
                await self._take(arrival, decoded, w, touched)
            w.devices = touched
            return await self._commit(w)

    async def tick(self) -> list[OutboxItem]:
        """Run the time-driven rules."""
        async with self.desk.lock:
            now = self.clock.now()
            w = Writes(meta={LAST_TICK: epoch(now)})
            for decision in self.watch.tick(now):
                self._alert(self.desk.apply(decision, now, w))
            self.desk.escalate_due(now, w)
            last = self.watch.last_tick_before
            if last is not None:
                for b in handover.boundaries_between(self.directory, last, now):
                    body = await handover.summary(self.store, self.desk, self.directory, b)
                    handover.queue_summary(w, body, self.desk.base_topic, now)
            return await self._commit(w)

    async def _commit(self, w: Writes) -> list[OutboxItem]:
        try:
            items = await self.store.commit(w)
        except Exception:
            # The rules' state ran ahead of the database: rebuild it from the store.
            self.desk.discard()
            await self.restore()
            raise
        self.desk.install(w)
        self.devices.update(w.devices)
        for e in w.events:
            self.desk.bus.publish(
                EventStored(
                    e.household_id,
                    e.device_id,
                    e.kind,
                    e.report,
                    e.data,
                    e.ts.astimezone(self.directory.tz),
                )
            )
        return items

    async def _take(
        self, arrival: Arrival, decoded: Decoded, w: Writes, touched: dict[str, DeviceStatus]
    ) -> None:
        if isinstance(decoded, Ignored):
            metrics.MESSAGES.labels("ignored").inc()
            return
        if isinstance(decoded, Rejected):
            metrics.MESSAGES.labels("rejected").inc()
            w.rejected.append(
                RejectedRecord(
                    arrival.received_at,
                    arrival.source,
                    arrival.topic,
                    decoded.reason,
                    excerpt(arrival.payload),
                    decoded.device.key() if decoded.device else None,
                )
            )
            return
        dig = digest(arrival.topic, arrival.payload)
        if arrival.dup and await self._redelivered(dig, arrival, w):
            metrics.MESSAGES.labels("duplicate").inc()
            return
        for event in decoded:
            self._event(arrival, event, dig, w, touched)

    async def _redelivered(self, dig: str, arrival: Arrival, w: Writes) -> bool:
        if any(e.digest == dig for e in w.events):
            return True
        return await self.store.has_digest(dig, arrival.received_at - REDELIVERY_WINDOW)

    def _event(
        self,
        arrival: Arrival,
        event: Event,
        dig: str,
        w: Writes,
        touched: dict[str, DeviceStatus],
    ) -> None:
        key = event.device.key()
        if event.seq is not None:
            if self.seqs.seen(key, event.seq):
                metrics.MESSAGES.labels("duplicate").inc()
                return
            # Remembered at once, so a copy later in this batch is caught; should the commit
            # fail, restore() rebuilds the memory from the store.
            self.seqs.add(key, event.seq)
        binding = self.directory.bound(event.device)
        if binding is None:
            self._unknown(arrival, event, w)
            return
        at = event_time(event, arrival.received_at)
        outcome = self.watch.on_event(binding, event, at)
        metrics.MESSAGES.labels("accepted").inc()
        w.events.append(
            EventRecord(
                received_at=arrival.received_at,
                ts=at,
                source=arrival.source,
                topic=arrival.topic,
                device_key=key,
                device_id=binding.device.id,
                household_id=binding.household.id,
                kind=event.kind.value,
                seq=event.seq,
                report=outcome.report,
                data=event_data(event),
                digest=dig,
            )
        )
        self._track(binding, event, at, touched)
        for decision in outcome.decisions:
            self._alert(self.desk.apply(decision, self.clock.now(), w))

    def _unknown(self, arrival: Arrival, event: Event, w: Writes) -> None:
        metrics.MESSAGES.labels("unknown_device").inc()
        ref = event.device
        w.unknown.append(
            UnknownSighting(
                ref.key(),
                ref.protocol.value,
                ref.address,
                arrival.topic,
                arrival.received_at,
                excerpt(arrival.payload),
            )
        )
        # Radios around a BLE gateway hear every phone and watch nearby: those only go to the
        # unknown-device list (SPEC §2.3); other protocols are also a rejected message.
        if ref.protocol is not Protocol.BLE:
            w.rejected.append(
                RejectedRecord(
                    arrival.received_at,
                    arrival.source,
                    arrival.topic,
                    f"device {ref.key()} is not bound to any household",
                    excerpt(arrival.payload),
                    ref.key(),
                )
            )

    def _track(
        self, binding: Binding, event: Event, at: datetime, touched: dict[str, DeviceStatus]
    ) -> None:
        dev_id = binding.device.id
        prev = touched.get(dev_id) or self.devices.get(dev_id)
        d = replace(prev) if prev else DeviceStatus(dev_id, binding.household.id)
        d.household_id = binding.household.id
        d.last_seen = max(d.last_seen, at) if d.last_seen else at
        if event.battery is not None:
            d.battery = event.battery
        if isinstance(event, StatusEvent):
            d.online, d.status_at = event.online, at
        elif d.online is not True:
            d.online, d.status_at = True, at
        if isinstance(event, DoorEvent):
            state = self.watch.doors.get(dev_id)
            if state is not None:
                d.door_open, d.door_changed_at = state.open, state.changed_at
        if isinstance(event, TemperatureEvent):
            d.last_celsius, d.last_reading_at = event.celsius, at
        touched[dev_id] = d

    @staticmethod
    def _alert(alert: Any) -> None:
        if alert is not None and alert.count == 1 and alert.status.value == "open":
            metrics.ALERTS.labels(alert.type.value).inc()


def event_time(event: Event, received_at: datetime) -> datetime:
    """When the event happened: the device's time, unless that lies in the future.

    A device clock running ahead (or a forged time) must not move an opening out of the
    isolation period or into a visit window; times in the past are kept, since events queued at
    the broker during an outage arrive late but happened when the device said.
    """
    if event.ts is None or event.ts > received_at + MAX_CLOCK_AHEAD:
        return received_at
    return event.ts


__all__ = ["Arrival", "Pipeline", "SeenSeqs", "digest", "excerpt"]
