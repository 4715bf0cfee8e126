"""The commissioning checklist: what each bound device of a household must show it does.

Pure: events in, ticks out. ``isogate commission`` shows it live in a terminal, the API in the
console's technician view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from devices.events import Protocol
from gateway.store.event_data import DoorData, FrameData
from gateway.store.records import EventRecord
from rules.site import Device, DeviceKind, Household

STEPS = {
    DeviceKind.DOOR: ("door opened", "door closed"),
    DeviceKind.THERMOMETER: ("a reading",),
    DeviceKind.CAMERA: ("a frame",),
}
FRIGATE_HEARD = "Frigate heard"


@dataclass
class Check:
    """What one device still has to show; each step with when it was first seen (None: not)."""

    device: Device
    needs: dict[str, datetime | None] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Every step seen."""
        return all(at is not None for at in self.needs.values())

    def see(self, e: EventRecord) -> None:
        """Tick off what an event shows (the first time each step is seen counts)."""
        if isinstance(e.data, DoorData):
            self._tick("door opened" if e.data.open else "door closed", e.received_at)
        elif e.kind == "temperature":
            self._tick("a reading", e.received_at)
        elif e.kind == "frame" and isinstance(e.data, FrameData) and e.data.frames != 0:
            self._tick("a frame", e.received_at)  # a summary of bad frames only is not one
        self._tick(FRIGATE_HEARD, e.received_at)

    def _tick(self, step: str, at: datetime) -> None:
        if step in self.needs and self.needs[step] is None:
            self.needs[step] = at


def checklist(household: Household) -> list[Check]:
    """The steps each bound device must show: a door opens and closes, a thermometer reads,
    a camera sends a frame."""
    return [Check(d, dict.fromkeys(_steps(d))) for d in household.devices]


def _steps(device: Device) -> tuple[str, ...]:
    """A Frigate camera sends no frames to the gateway: its events or stats show it works."""
    if device.kind is DeviceKind.CAMERA and device.protocol is Protocol.FRIGATE:
        return (FRIGATE_HEARD,)
    return STEPS[device.kind]


def tick_off(checks: list[Check], events: list[EventRecord], since: datetime) -> None:
    """Let each check see the events received at or after ``since``, oldest first."""
    by_id = {c.device.id: c for c in checks}
    for e in sorted(events, key=lambda e: e.received_at):
        if e.received_at >= since and e.device_id in by_id:
            by_id[e.device_id].see(e)
