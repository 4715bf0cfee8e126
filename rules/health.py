"""Device health: offline (silent, or reported offline), low battery, tamper.

One :class:`DeviceHealth` per bound device, keyed by the device's site-file id. The gateway calls

- ``on_message`` for everything a device (or its bridge) says, ``online`` None for an ordinary
  event, True/False for an availability status;
- ``on_battery`` / ``on_tamper`` when an event carries those fields;
- ``tick`` every few seconds: it raises ``device_offline`` and clears it once the device is back.

``device_offline`` is raised when a device has been silent for its kind's allowance
(``policy.offline_s_by_kind``, else ``policy.device_offline_s``), or has reported itself offline
and stayed so for ``policy.offline_grace_s`` — a radio dropout of a minute at night is no alarm.
Its ``Clear`` is dated when the device spoke again, even though the tick that notices is later.

``tamper`` is raised when a tamper flag turns True and is never cleared by the device: a sensor
that was pried off and put back says ``tamper: false`` again, and someone must still go and look.
A later True after a False raises again (the alert store counts it on the open alert).

``low_battery`` is raised once at or below ``policy.low_battery_pct`` and cleared only above the
threshold plus :data:`BATTERY_HYSTERESIS`, so a cell wavering around the line does not flap.

Outside a household's isolation period nothing is raised (installation and removal of devices
happen then, with tamper switches pressed and devices unplugged); states are still updated, so a
condition that persists into the period is raised at the first tick or report inside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from devices.events import CameraFault
from rules.alerts import AlertType, Clear, Decision, Raise
from rules.deadlines import EARLIEST
from rules.directory import Binding, Directory
from rules.site import Device, DeviceKind, Household

BATTERY_HYSTERESIS = 5
"""Points above ``low_battery_pct`` a battery must reach before ``low_battery`` clears."""

KIND_NAMES: dict[DeviceKind, str] = {
    DeviceKind.DOOR: "门磁",
    DeviceKind.THERMOMETER: "体温计",
    DeviceKind.CAMERA: "摄像头",
}

FAULT_NAMES: dict[CameraFault, str] = {
    CameraFault.COVERED: "镜头被遮挡",
    CameraFault.DEFOCUSED: "镜头失焦",
    CameraFault.MOVED: "摄像头被移动",
}
"""What a camera tamper fault is called in a ``tamper`` message."""


class Link(StrEnum):
    """Availability as last reported by the device or its bridge."""

    UNKNOWN = "unknown"  # never said either way
    ONLINE = "online"
    OFFLINE = "offline"


@dataclass(frozen=True, slots=True)
class DeviceHealth:
    """What the rules remember of one device's health.

    ``watched_since`` is when the gateway started expecting messages (gateway start or the time
    the binding appeared): a device never heard from is silent since then.
    """

    watched_since: datetime
    last_seen: datetime | None = None
    link: Link = Link.UNKNOWN
    link_since: datetime | None = None
    offline_raised: bool = False
    battery: int | None = None
    low_battery_raised: bool = False
    tamper: bool = False
    tamper_raised: bool = False
    fault: str | None = None  # a camera sending only bad frames, and why the last was bad


def allowance_s(device: Device, directory: Directory) -> int:
    """Seconds of silence allowed for a device: its own ``offline_s``, else its kind's."""
    if device.offline_s is not None:
        return device.offline_s
    policy = directory.policy
    return policy.offline_s_by_kind.get(device.kind, policy.device_offline_s)


def on_message(state: DeviceHealth, at: datetime, online: bool | None) -> DeviceHealth:
    """Note that a device (or its bridge) said something at ``at``.

    Args:
        state: The device's state.
        at: When it was received (or the device's own time).
        online: None for an ordinary event (the device spoke, so it is up), True or False for
            an availability status. An ``offline`` status is the broker's or the bridge's word,
            not the device speaking, so it does not count as a sign of life.

    Returns:
        The new state. Decisions follow from ``tick``.
    """
    if online is False:
        if state.link is Link.OFFLINE:
            return state  # a repeated (retained) offline keeps the first time it was said
        return replace(state, link=Link.OFFLINE, link_since=at)
    last_seen = at if state.last_seen is None else max(state.last_seen, at)
    if state.link is Link.ONLINE:
        return seen_again(state, last_seen)
    return replace(state, last_seen=last_seen, link=Link.ONLINE, link_since=at, fault=None)


def seen_again(s: DeviceHealth, last_seen: datetime) -> DeviceHealth:
    """An online device heard from again: ``replace(s, last_seen=..., fault=None)`` without its
    cost (every message of the hot path comes here; a test holds it to ``replace``)."""
    return DeviceHealth(
        s.watched_since,
        last_seen,
        s.link,
        s.link_since,
        s.offline_raised,
        s.battery,
        s.low_battery_raised,
        s.tamper,
        s.tamper_raised,
        None,
    )


def on_bad_frames(state: DeviceHealth, fault: str) -> DeviceHealth:
    """A camera has sent only bad frames for a while: it counts as offline, with the reason.

    Its next good frame (``on_message``) clears the fault, and the tick then clears the alert.
    """
    return replace(state, fault=fault)


def tick(
    states: Mapping[str, DeviceHealth], now: datetime, directory: Directory, reference: datetime
) -> tuple[dict[str, DeviceHealth], tuple[Decision, ...]]:
    """Raise ``device_offline`` for devices past their allowance, clear it for those back.

    Args:
        states: Health by device id. Devices bound but missing here are created.
        now: The time of this tick.
        directory: The site.
        reference: ``watched_since`` for bound devices without a state: the gateway's start
            time, or after a site reload the time the new binding appeared.

    Returns:
        States for exactly the bound devices (states of unbound devices are dropped) and the
        decisions.
    """
    out: dict[str, DeviceHealth] = {}
    decisions: list[Decision] = []
    # Frozen: every device not heard from shares this one (112 bytes a device at 100,000).
    unheard = DeviceHealth(watched_since=reference)
    for b in directory.bindings():
        st = states.get(b.device.id) or unheard
        st, more = tick_one(st, now, b, directory)
        out[b.device.id] = st
        decisions.extend(more)
    return out, tuple(decisions)


def tick_one(
    st: DeviceHealth, now: datetime, binding: Binding, directory: Directory
) -> tuple[DeviceHealth, tuple[Decision, ...]]:
    """``tick`` for one bound device: its new state (the same object when nothing changed)."""
    dev, hh = binding.device, binding.household
    reason = _offline_reason(st, now, binding, directory)
    if reason is not None and not st.offline_raised and _isolated(hh, now):
        raise_ = Raise(
            AlertType.DEVICE_OFFLINE,
            hh.id,
            dev.id,
            now,
            f"设备离线: {hh.address} {KIND_NAMES[dev.kind]} {dev.id} {reason}",
            directory.recipients(AlertType.DEVICE_OFFLINE, hh, now),
        )
        return replace(st, offline_raised=True), (raise_,)
    if reason is None and st.offline_raised:
        back_at = max(t for t in (st.last_seen, st.link_since, st.watched_since) if t)
        clear = Clear(AlertType.DEVICE_OFFLINE, hh.id, dev.id, back_at, "设备已恢复")
        return replace(st, offline_raised=False), (clear,)
    return st, ()


def next_due(
    st: DeviceHealth, binding: Binding, directory: Directory, after: datetime | None = None
) -> datetime | None:
    """The first time at or after ``after`` at which ``tick_one`` would change the state.

    None when no time would, as long as the state stays as it is: a device counts as offline
    from a time on (its silence, or its offline status, only grows), so ``device_offline`` is
    due from then while the period runs, and its clear only once the device spoke again.

    Args:
        st: The device's state.
        binding: The device and its household.
        directory: The site.
        after: The time of a tick that found nothing to do (None: no lower bound).
    """
    offline_from = _offline_from(st, binding, directory)
    if st.offline_raised:
        if offline_from is None:
            return None  # offline for a bad frame until a good one comes
        if after is None:
            return EARLIEST  # back, maybe: the next tick looks
        return after if after < offline_from else None
    iso = binding.household.isolation
    if iso is None:
        return None
    due = iso.start if offline_from is None else max(offline_from, iso.start)
    if after is not None:
        due = max(due, after)
    return due if due < iso.end else None


def _offline_from(st: DeviceHealth, binding: Binding, directory: Directory) -> datetime | None:
    """From when ``_offline_reason`` gives a reason; None when it always does (a bad frame)."""
    if st.fault is not None:
        return None
    heard = st.last_seen or st.watched_since
    silent = heard + timedelta(seconds=allowance_s(binding.device, directory))
    if st.link is Link.OFFLINE and st.link_since is not None:
        return min(silent, st.link_since + timedelta(seconds=directory.policy.offline_grace_s))
    return silent


def on_battery(
    state: DeviceHealth,
    battery: int,
    at: datetime,
    binding: Binding,
    directory: Directory,
    *,
    now: datetime,
) -> tuple[DeviceHealth, tuple[Decision, ...]]:
    """Apply a battery level (percent) reported at ``at``.

    Args:
        state: The device's state.
        battery: Percent, 0-100.
        at: When it was reported: decides whether it fell in the isolation period.
        binding: The device and its household.
        directory: The site.
        now: The gateway's time: an alert goes to whoever is on duty now.

    Returns:
        The new state and a ``low_battery`` Raise or Clear, if any.
    """
    hh, dev = binding.household, binding.device
    threshold = directory.policy.low_battery_pct
    st = replace(state, battery=battery)
    if battery <= threshold and not state.low_battery_raised and _isolated(hh, at):
        raise_ = Raise(
            AlertType.LOW_BATTERY,
            hh.id,
            dev.id,
            at,
            f"电量低: {hh.address} {KIND_NAMES[dev.kind]} {dev.id} 剩余 {battery}%",
            directory.recipients(AlertType.LOW_BATTERY, hh, now),
        )
        return replace(st, low_battery_raised=True), (raise_,)
    if state.low_battery_raised and battery > threshold + BATTERY_HYSTERESIS:
        clear = Clear(AlertType.LOW_BATTERY, hh.id, dev.id, at, f"电量已恢复 {battery}%")
        return replace(st, low_battery_raised=False), (clear,)
    return st, ()


def on_tamper(
    state: DeviceHealth,
    tamper: bool,
    at: datetime,
    binding: Binding,
    directory: Directory,
    *,
    now: datetime,
    fault: CameraFault | None = None,
) -> tuple[DeviceHealth, tuple[Decision, ...]]:
    """Apply a tamper flag reported at ``at``; never clears (see the module docstring).

    Args:
        state: The device's state.
        tamper: The flag as the device reported it.
        at: When it was reported: decides whether it fell in the isolation period.
        binding: The device and its household.
        directory: The site.
        now: The gateway's time: an alert goes to whoever is on duty now.
        fault: What a camera's tamper analysis found (covered, defocused, moved): named in the
            message instead of "被拆动".

    Returns:
        The new state and a ``tamper`` Raise when the flag is newly True during isolation.
    """
    hh, dev = binding.household, binding.device
    if not tamper:
        # Re-arm: the next True is a new tampering. No Clear — a person must look.
        return replace(state, tamper=False, tamper_raised=False), ()
    st = replace(state, tamper=True)
    if state.tamper_raised or not _isolated(hh, at):
        return st, ()
    local = at.astimezone(directory.site.tz)
    what = "被拆动" if fault is None else FAULT_NAMES[fault]
    raise_ = Raise(
        AlertType.TAMPER,
        hh.id,
        dev.id,
        at,
        f"防拆: {hh.address} {KIND_NAMES[dev.kind]} {dev.id} {local:%H:%M} {what}",
        directory.recipients(AlertType.TAMPER, hh, now),
    )
    return replace(st, tamper_raised=True), (raise_,)


def _offline_reason(
    st: DeviceHealth, now: datetime, binding: Binding, directory: Directory
) -> str | None:
    """Why the device counts as offline at ``now`` (Chinese, for the message), or None."""
    if st.fault is not None:
        return f"只发来坏帧 ({st.fault[:120]})"
    if st.link is Link.OFFLINE and st.link_since is not None:
        down = now - st.link_since
        if down >= timedelta(seconds=directory.policy.offline_grace_s):
            return f"报告离线已 {_minutes(down)} 分钟"
    heard = st.last_seen or st.watched_since
    silent = now - heard
    if silent >= timedelta(seconds=allowance_s(binding.device, directory)):
        return f"已 {_minutes(silent)} 分钟无消息"
    return None


def _isolated(hh: Household, t: datetime) -> bool:
    return hh.isolation is not None and hh.isolation.contains(t)


def _minutes(d: timedelta) -> int:
    return int(d.total_seconds() // 60)
