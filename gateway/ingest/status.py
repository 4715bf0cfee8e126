"""What a batch's events say of their devices: last heard, battery, link, door, last reading."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from devices.events import DoorEvent, Event, FrameEvent, StatusEvent, TemperatureEvent
from gateway.store.records import DeviceStatus
from rules.directory import Binding
from rules.door import DoorState


def track(
    touched: dict[str, DeviceStatus],
    installed: Mapping[str, DeviceStatus],
    binding: Binding,
    event: Event,
    at: datetime,
    door: DoorState | None,
) -> None:
    """Stage a device's status after ``event`` in ``touched``, the batch's own copies.

    A device's first event in the batch copies its ``installed`` status; its later events
    change that copy in place, so the installed state is never touched before the commit.
    ``door``: the door rule's state after a door event (None otherwise).
    """
    dev_id = binding.device.id
    d = touched.get(dev_id)
    if d is None:
        prev = installed.get(dev_id)
        d = replace(prev) if prev else DeviceStatus(dev_id, binding.household.id)
    d.household_id = binding.household.id
    if isinstance(event, FrameEvent) and event.frames == 0:
        touched[dev_id] = d  # only bad frames: no sign of a working camera
        return
    d.last_seen = max(d.last_seen, at) if d.last_seen else at
    if event.battery is not None:
        d.battery = event.battery
    if isinstance(event, StatusEvent):
        d.online, d.status_at = event.online, at
    elif d.online is not True:
        d.online, d.status_at = True, at
    if isinstance(event, DoorEvent) and door is not None:
        d.door_open, d.door_changed_at = door.open, door.changed_at
    if isinstance(event, TemperatureEvent):
        d.last_celsius, d.last_reading_at = event.celsius, at
    touched[dev_id] = d
