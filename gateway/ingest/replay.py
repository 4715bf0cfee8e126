"""The cameras' correlation state after a restart, replayed from the event log.

A motion run waits up to ``camera_window_s`` for a door opening before it is ``motion_at_door``;
a breach opening waits as long for motion to mark it seen. The store keeps the events; replaying
the door openings and motion reports of the last minutes (with the ticks that had committed by
then) gives back exactly what was pending, so a restart neither forgets a visitor nor tells of
one twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from devices.events import DeviceRef, MotionEvent
from gateway.store import Store
from gateway.store.event_data import DoorData, MotionData, TemperatureData
from gateway.store.records import Alert, DeviceStatus, EventRecord
from rules import camera, care, health, readings
from rules.alerts import AlertType
from rules.camera import CameraState
from rules.care import CareState, Opening
from rules.directory import Binding, Directory
from rules.door import DoorState
from rules.site import DeviceKind


async def reading_states(
    store: Store, directory: Directory, now: datetime
) -> dict[readings.ResidentKey, readings.ReadingState]:
    """The residents' reading state from the last two days' readings: which windows are
    already satisfied."""
    residents: dict[readings.ResidentKey, readings.ReadingState] = {}
    for e in await store.events_since("temperature", now - timedelta(days=2)):
        binding = directory.device(e.device_id or "")
        if binding is None or binding.device.resident is None:
            continue
        if not isinstance(e.data, TemperatureData):
            continue
        resident = (binding.household.id, binding.device.resident)
        residents[resident], _ = readings.step(
            residents.get(resident, readings.ReadingState()),
            e.data.celsius,
            e.ts,
            binding,
            directory,
            now=now,
        )
    return residents


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


async def care_states(store: Store, directory: Directory, now: datetime) -> dict[str, CareState]:
    """The households' announced openings, console visits and releases, from the store."""
    states: dict[str, CareState] = {}
    for x in await store.care_windows(ending_after=now - timedelta(days=2)):
        if x.household_id in directory.households:
            st = states.get(x.household_id, CareState())
            opening = Opening(x.start, x.end, x.kind, x.reason)
            states[x.household_id] = care.with_window(st, opening, now)
    for rel in await store.releases():
        hh = directory.households.get(rel.household_id)
        if hh is not None and hh.isolation is not None and hh.isolation.start == rel.period_start:
            st = states.get(hh.id, CareState())
            states[hh.id] = CareState(st.windows, (rel.period_start, rel.released_at))
    return states


async def checked_windows(
    store: Store,
    directory: Directory,
    now: datetime,
    residents: dict[readings.ResidentKey, readings.ReadingState],
) -> None:
    """Mark in ``residents`` the reading windows of the last two days that have a symptom check
    (or were marked as missing one), so that a restart neither marks them again nor forgets."""
    for chk in await store.symptom_checks(since=now - timedelta(days=2)):
        key = (chk.household_id, chk.resident_id)
        st = residents.get(key, readings.ReadingState())
        when = chk.window_start if chk.window_start is not None else chk.at
        residents[key] = readings.symptom_checked(st, when, directory)


def device_states(
    statuses: Mapping[str, DeviceStatus], unresolved: list[Alert], now: datetime
) -> tuple[dict[str, DoorState], dict[str, health.DeviceHealth]]:
    """The doors' and devices' rule state from their stored status and the unresolved alerts
    (an alert still raised must not be raised again after a restart)."""
    raised = {(a.type, a.device_id) for a in unresolved}
    doors: dict[str, DoorState] = {}
    devices: dict[str, health.DeviceHealth] = {}
    for dev_id, d in statuses.items():
        if d.door_open is not None:
            doors[dev_id] = DoorState(
                d.door_open, d.door_changed_at, (AlertType.DOOR_LEFT_OPEN, dev_id) in raised
            )
        link = (
            health.Link.UNKNOWN
            if d.online is None
            else (health.Link.ONLINE if d.online else health.Link.OFFLINE)
        )
        devices[dev_id] = health.DeviceHealth(
            watched_since=now,
            last_seen=d.last_seen,
            link=link,
            link_since=d.status_at,
            offline_raised=(AlertType.DEVICE_OFFLINE, dev_id) in raised,
            battery=d.battery,
            low_battery_raised=(AlertType.LOW_BATTERY, dev_id) in raised,
            tamper_raised=(AlertType.TAMPER, dev_id) in raised,
        )
    return doors, devices
