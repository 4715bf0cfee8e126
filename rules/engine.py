"""The watch: per-device rule state and the dispatch of events and ticks to the rules.

Pure: the caller gives each event with its time and calls ``tick`` with the time; the watch
answers with decisions. Its state is a projection the gateway rebuilds from the store at start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from devices.events import DoorEvent, Event
from rules import door
from rules.alerts import Decision
from rules.directory import Binding, Directory
from rules.site import DeviceKind


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one event meant: a note for the log (e.g. ``change/breach``) and the decisions."""

    report: str | None
    decisions: tuple[Decision, ...]


class Watch:
    """Rule state for a site's devices."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        self.doors: dict[str, door.DoorState] = {}

    def reindex(self, directory: Directory) -> None:
        """A new site revision: keep the state of devices still bound, drop the rest."""
        self.directory = directory
        self.doors = {k: v for k, v in self.doors.items() if directory.device(k) is not None}

    def on_event(self, binding: Binding, event: Event, at: datetime) -> Outcome:
        """Apply one event of a bound device, made at ``at``."""
        if isinstance(event, DoorEvent) and binding.device.kind is DeviceKind.DOOR:
            dev_id = binding.device.id
            result = door.step(
                self.doors.get(dev_id, door.DoorState()), event.open, at, binding, self.directory
            )
            self.doors[dev_id] = result.state
            note = result.report.value
            if result.verdict is not None:
                note += "/" + result.verdict.value
            return Outcome(note, result.decisions)
        return Outcome(None, ())

    def tick(self, now: datetime) -> list[Decision]:
        """Time-driven checks across every device."""
        out: list[Decision] = []
        for dev_id, state in list(self.doors.items()):
            binding = self.directory.device(dev_id)
            if binding is None:
                continue
            new, decisions = door.tick(state, now, binding, self.directory)
            self.doors[dev_id] = new
            out.extend(decisions)
        return out
