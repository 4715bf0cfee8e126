"""The watch: per-device and per-resident rule state, and the dispatch of events and ticks.

Pure: the caller gives each event with its time and calls ``tick`` with the time; the watch
answers with decisions. Its state is a projection the gateway rebuilds from the store at start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from devices.events import DoorEvent, Event, StatusEvent, TemperatureEvent
from rules import coverage, door, health, readings
from rules.alerts import Decision
from rules.directory import Binding, Directory
from rules.site import DeviceKind


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one event meant: a note for the log (e.g. ``change/breach``) and the decisions."""

    report: str | None
    decisions: tuple[Decision, ...]


@dataclass
class Watch:
    """Rule state for a site's devices and residents.

    ``reference`` is when the gateway began watching (start, or a site reload): a device never
    heard from is silent since then. ``last_tick`` is persisted so that a restart neither
    forgets a reading window that ended while it was down nor reports old ones.
    """

    directory: Directory
    reference: datetime
    last_tick: datetime | None = None
    last_tick_before: datetime | None = None  # the tick before the latest, for "since last"
    doors: dict[str, door.DoorState] = field(default_factory=dict)
    health: dict[str, health.DeviceHealth] = field(default_factory=dict)
    readings: dict[readings.ResidentKey, readings.ReadingState] = field(default_factory=dict)
    coverage: coverage.CoverageState = field(default_factory=coverage.CoverageState)

    def reindex(self, directory: Directory, now: datetime) -> None:
        """A new site revision: keep the state of devices still bound, drop the rest."""
        self.directory = directory
        self.reference = now
        self.doors = {k: v for k, v in self.doors.items() if directory.device(k) is not None}

    def on_event(self, binding: Binding, event: Event, at: datetime) -> Outcome:
        """Apply one event of a bound device, made at ``at``."""
        dev = binding.device
        decisions: list[Decision] = []
        hs = self.health.get(dev.id) or health.DeviceHealth(watched_since=self.reference)
        hs = health.on_message(hs, at, event.online if isinstance(event, StatusEvent) else None)
        if event.battery is not None:
            hs, more = health.on_battery(hs, event.battery, at, binding, self.directory)
            decisions.extend(more)
        if event.tamper is not None:
            hs, more = health.on_tamper(hs, event.tamper, at, binding, self.directory)
            decisions.extend(more)
        self.health[dev.id] = hs
        note: str | None = None
        if isinstance(event, DoorEvent) and dev.kind is DeviceKind.DOOR:
            result = door.step(
                self.doors.get(dev.id, door.DoorState()), event.open, at, binding, self.directory
            )
            self.doors[dev.id] = result.state
            note = result.report.value
            if result.verdict is not None:
                note += "/" + result.verdict.value
            decisions.extend(result.decisions)
        elif isinstance(event, TemperatureEvent) and dev.resident is not None:
            key = (binding.household.id, dev.resident)
            state, more = readings.step(
                self.readings.get(key, readings.ReadingState()),
                event.celsius,
                at,
                binding,
                self.directory,
            )
            self.readings[key] = state
            decisions.extend(more)
        return Outcome(note, tuple(decisions))

    def tick(self, now: datetime) -> list[Decision]:
        """Time-driven checks: doors left open, silent devices, missed readings, roster gaps."""
        d = self.directory
        out: list[Decision] = []
        for dev_id, state in list(self.doors.items()):
            binding = d.device(dev_id)
            if binding is not None:
                self.doors[dev_id], more = door.tick(state, now, binding, d)
                out.extend(more)
        self.health, more = health.tick(self.health, now, d, self.reference)
        out.extend(more)
        self.readings, more = readings.tick(self.readings, now, d, self.last_tick)
        out.extend(more)
        self.coverage, more = coverage.coverage_tick(self.coverage, now, d)
        out.extend(more)
        self.last_tick_before, self.last_tick = self.last_tick, now
        return out
