"""Door contact: breach outside authorized windows, door left open, debounce, open-only sensors.

``step`` takes the door's last state, a contact report and its time, and returns the new state,
what the report was (a change, a repeat, a bounce) and the decisions. ``tick`` notices what only
time reveals: a door left open, an open-only sensor whose hold ran out.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from rules.alerts import AlertType, Clear, Decision, Raise
from rules.directory import Binding, Directory


class DoorReport(StrEnum):
    """What a contact report meant, kept beside the event in the log."""

    CHANGE = "change"  # the door opened or closed
    REPEAT = "repeat"  # the same state again: a heartbeat, not a door event
    BOUNCE = "bounce"  # a change within the debounce interval of the last one


class DoorVerdict(StrEnum):
    """Why an opening did or did not alert."""

    BREACH = "breach"
    AUTHORIZED_VISIT = "authorized_visit"
    NOT_ISOLATED = "not_isolated"


@dataclass(frozen=True, slots=True)
class DoorState:
    """A door as the gateway last knew it. ``open`` is None before the first report."""

    open: bool | None = None
    changed_at: datetime | None = None
    left_open_raised: bool = False


@dataclass(frozen=True, slots=True)
class DoorStep:
    """What ``step`` returns."""

    state: DoorState
    report: DoorReport
    verdict: DoorVerdict | None
    decisions: tuple[Decision, ...]


def opening_verdict(binding: Binding, at: datetime) -> DoorVerdict:
    """Is an opening at ``at`` a breach, an authorized visit, or outside isolation?"""
    hh = binding.household
    if hh.isolation is None or not hh.isolation.contains(at):
        return DoorVerdict.NOT_ISOLATED
    if any(v.contains(at) for v in hh.visits):
        return DoorVerdict.AUTHORIZED_VISIT
    return DoorVerdict.BREACH


def step(
    state: DoorState, is_open: bool, at: datetime, binding: Binding, directory: Directory
) -> DoorStep:
    """Apply one contact report (``is_open``) made at ``at``."""
    if state.open is is_open:
        return DoorStep(state, DoorReport.REPEAT, None, ())
    debounce = timedelta(seconds=directory.policy.door_debounce_s)
    if state.changed_at is not None and abs(at - state.changed_at) < debounce:
        # Contact bounce: follow the state, but it is not a new door event.
        return DoorStep(replace(state, open=is_open), DoorReport.BOUNCE, None, ())
    new = DoorState(open=is_open, changed_at=at, left_open_raised=False)
    hh, dev = binding.household, binding.device
    if not is_open:
        decisions: tuple[Decision, ...] = ()
        if state.left_open_raised:
            decisions = (Clear(AlertType.DOOR_LEFT_OPEN, hh.id, dev.id, at, "门已关闭"),)
        return DoorStep(new, DoorReport.CHANGE, None, decisions)
    verdict = opening_verdict(binding, at)
    if verdict is not DoorVerdict.BREACH:
        return DoorStep(new, DoorReport.CHANGE, verdict, ())
    local = at.astimezone(directory.tz)
    raise_ = Raise(
        AlertType.DOOR_BREACH,
        hh.id,
        dev.id,
        at,
        f"门磁: {hh.address} {local:%H:%M} 开门，非授权时段",
        directory.recipients(AlertType.DOOR_BREACH, hh, at),
    )
    return DoorStep(new, DoorReport.CHANGE, verdict, (raise_,))


def tick(
    state: DoorState, now: datetime, binding: Binding, directory: Directory
) -> tuple[DoorState, tuple[Decision, ...]]:
    """Time-driven checks for one door: open-only hold, left open."""
    if not state.open or state.changed_at is None:
        return state, ()
    hh, dev = binding.household, binding.device
    open_for = (now - state.changed_at).total_seconds()
    if dev.open_hold_s is not None:
        # An open-only sensor never says "closed": it counts as closed once its hold runs out.
        if open_for >= dev.open_hold_s:
            closed_at = state.changed_at + timedelta(seconds=dev.open_hold_s)
            return DoorState(open=False, changed_at=closed_at), ()
        return state, ()
    if state.left_open_raised or open_for < directory.policy.door_left_open_s:
        return state, ()
    if hh.isolation is None or not hh.isolation.contains(now):
        return state, ()
    minutes = int(open_for // 60)
    raise_ = Raise(
        AlertType.DOOR_LEFT_OPEN,
        hh.id,
        dev.id,
        now,
        f"门磁: {hh.address} 门已开启{minutes}分钟未关"
        if minutes
        else f"门磁: {hh.address} 门已开启{int(open_for)}秒未关",
        directory.recipients(AlertType.DOOR_LEFT_OPEN, hh, now),
    )
    return replace(state, left_open_raised=True), (raise_,)
