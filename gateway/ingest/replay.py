"""The cameras' correlation state after a restart, replayed from the event log.

A motion run waits up to ``camera_window_s`` for a door opening before it is ``motion_at_door``;
a breach opening waits as long for motion to mark it seen. The store keeps the events; replaying
the door openings and motion reports of the last minutes (with the ticks that had committed by
then) gives back exactly what was pending, so a restart neither forgets a visitor nor tells of
one twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from devices.events import DeviceRef, MotionEvent
from gateway.store import Store
from gateway.store.event_data import DoorData, MotionData
from gateway.store.records import EventRecord
from rules import camera
from rules.camera import CameraState
from rules.directory import Binding, Directory
from rules.site import DeviceKind


async def camera_states(
    store: Store, directory: Directory, now: datetime, last_tick: datetime | None
) -> dict[str, CameraState]:
    """The households' camera state as the events before ``now`` left it.

    Args:
        store: The event log.
        directory: The site.
        now: The restart's time.
        last_tick: The latest tick that committed before it (its decisions are recorded).

    Returns:
        State by household, for households with a camera and recent door or motion events.
    """
    since = now - camera.STALE_RUN - timedelta(seconds=directory.policy.camera_window_s)
    rows = await store.events_since("door", since) + await store.events_since("motion", since)
    rows.sort(key=lambda e: e.ts)
    states: dict[str, CameraState] = {}
    for e in rows:
        b = directory.device(e.device_id or "")
        if b is None or not camera.has_camera(b.household):
            continue
        hh = b.household.id
        st = states.get(hh, CameraState())
        if last_tick is not None and e.ts <= last_tick:
            # The ticks up to here had committed: what they raised is recorded. Later ones
            # never ran, so what they would raise is left pending for the next tick.
            st, _ = camera.tick(st, e.ts, directory)
        st = _apply(st, e, b, directory)
        states[hh] = st
    if last_tick is not None:
        for hh, st in states.items():
            states[hh], _ = camera.tick(st, last_tick, directory)
    return states


def _apply(st: CameraState, e: EventRecord, b: Binding, directory: Directory) -> CameraState:
    data, report = e.data, e.report or ""
    if isinstance(data, DoorData) and data.open and report.startswith("change/"):
        breach = report.endswith("/breach")
        st, _ = camera.on_opening(st, b.device.id, e.ts, breach, b.household, directory, now=e.ts)
    elif isinstance(data, MotionData) and b.device.kind is DeviceKind.CAMERA:
        event = MotionEvent(
            device=DeviceRef(b.device.protocol, b.device.wire_address()),
            ts=e.ts,
            active=data.active,
            ref=data.ref,
            label=data.label,
            zones=data.zones,
        )
        st = camera.on_motion(st, event, e.ts, b, directory, now=e.ts).state
    return st
