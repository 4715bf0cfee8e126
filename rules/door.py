"""Door contact: breach outside authorized windows, door left open, debounce, open-only sensors.

``step`` takes the door's last state, a contact report, its time and the current time, and
returns the new state, what the report was (a change, a repeat, a bounce) and the decisions.
``tick`` notices what only time reveals: a bounce whose debounce interval ended with the door
moved, a door left open, an open-only sensor whose hold ran out.

Two times: ``at`` (when the door moved) decides whether an opening fell in the isolation period or
a visit window; ``now`` (the gateway's time) decides who is told: the watcher on duty when the
alert is raised, not the one of the shift in which a late (queued, or mis-clocked) report was
made.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from rules.alerts import AlertType, Clear, Decision, Raise
from rules.care import CareState, authorized_by, released
from rules.directory import Binding, Directory

# How far back a sensor's sequence number may go and still be a report overtaken on the way;
# further back, the sensor restarted its count, and the report is applied as it comes.
STALE_SEQS = 32


class DoorReport(StrEnum):
    """What a contact report meant, kept beside the event in the log."""

    CHANGE = "change"  # the door opened or closed
    REPEAT = "repeat"  # the same state again: a heartbeat, not a door event
    BOUNCE = "bounce"  # a change within the debounce interval of the last one
    STALE = "stale"  # older, by its sequence number, than a report already applied


class DoorVerdict(StrEnum):
    """Why an opening did or did not alert."""

    BREACH = "breach"
    AUTHORIZED_VISIT = "authorized_visit"
    PREREPORTED = "prereported"  # the resident announced it on their page
    NOT_ISOLATED = "not_isolated"


@dataclass(frozen=True, slots=True)
class DoorState:
    """A door as the gateway last knew it. ``open`` is None before the first report.

    ``open`` follows every report, bounces included; ``changed_at`` is when the door last changed
    as judged (a change the rules decided on). ``debounce_from`` starts a debounce interval: the
    time of the last judged change, None when none runs (after the first report, or a state
    rebuilt from the store). ``moved_at`` is set while bounces left the door other than last
    judged: when it last moved. That move is judged once the interval ends, so a bounce can
    delay a breach by the interval but never swallow it.

    ``seq`` orders a sensor's reports when they arrive out of order (a bridge that reconnects
    sends what it queued after what it publishes at once); None after a restart of the gateway,
    until the next numbered report.
    """

    open: bool | None = None
    changed_at: datetime | None = None
    left_open_raised: bool = False
    moved_at: datetime | None = None
    debounce_from: datetime | None = None
    seq: int | None = None  # the sequence number of the last report applied, when it had one


@dataclass(frozen=True, slots=True)
class DoorStep:
    """What ``step`` returns.

    ``report`` is what this contact report was; ``verdict`` is that of the opening this step
    judged: the report's own, or that of a bounced opening whose interval the report ended.
    """

    state: DoorState
    report: DoorReport
    verdict: DoorVerdict | None
    decisions: tuple[Decision, ...]


def opening_verdict(binding: Binding, at: datetime, care: CareState | None = None) -> DoorVerdict:
    """Is an opening at ``at`` a breach, an authorized visit, announced, or outside isolation?

    ``care`` holds the household's announced openings and console visits, and its release.
    """
    hh = binding.household
    if hh.isolation is None or not hh.isolation.contains(at) or released(hh, care):
        return DoorVerdict.NOT_ISOLATED
    if any(v.contains(at) for v in hh.visits):
        return DoorVerdict.AUTHORIZED_VISIT
    window = authorized_by(care, at)
    if window is not None:
        return DoorVerdict.AUTHORIZED_VISIT if window.kind == "visit" else DoorVerdict.PREREPORTED
    return DoorVerdict.BREACH


def step(
    state: DoorState,
    is_open: bool,
    at: datetime,
    binding: Binding,
    directory: Directory,
    *,
    now: datetime,
    care: CareState | None = None,
    seq: int | None = None,
) -> DoorStep:
    """Apply one contact report (``is_open``).

    Args:
        state: The door's state.
        is_open: The contact as reported.
        at: When the report was made: decides the isolation period and the visit windows.
        binding: The door sensor and its household.
        directory: The site.
        now: The gateway's time: an alert goes to whoever is on duty now.
        care: The household's announced openings, console visits and release.
        seq: The report's sequence number, if the sensor numbers its reports.

    Returns:
        The new state, what the report was and the decisions.
    """
    if seq is not None and state.seq is not None and 0 < state.seq - seq <= STALE_SEQS:
        return _stale(state, is_open, at, _Scene(binding, directory, now, care))
    this = _step(state, is_open, at, _Scene(binding, directory, now, care))
    if seq is None or this.state.seq == seq:
        return this
    return DoorStep(with_seq(this.state, seq), this.report, this.verdict, this.decisions)


def with_seq(s: DoorState, seq: int) -> DoorState:
    """``s`` with the number of the report applied: ``replace`` without its cost (every door
    report of the hot path comes here; a test holds it to ``replace``)."""
    return DoorState(s.open, s.changed_at, s.left_open_raised, s.moved_at, s.debounce_from, seq)


@dataclass(frozen=True, slots=True)
class _Scene:
    """What a report is judged against: the door's household and the site, the gateway's time
    (whom to tell), the household's announced openings and release."""

    binding: Binding
    directory: Directory
    now: datetime
    care: CareState | None


def _step(state: DoorState, is_open: bool, at: datetime, sc: _Scene) -> DoorStep:
    debounce = timedelta(seconds=sc.directory.policy.door_debounce_s)
    settled: DoorStep | None = None
    if _due(state, at, debounce):
        settled = _settle(state, sc)
        state = settled.state
    if state.open is is_open:
        this = DoorStep(state, DoorReport.REPEAT, None, ())
    elif state.debounce_from is not None and abs(at - state.debounce_from) < debounce:
        # Contact bounce: follow the state, but it is not a new door event (yet).
        moved_at = at if state.moved_at is None else None
        bounced = replace(state, open=is_open, moved_at=moved_at)
        this = DoorStep(bounced, DoorReport.BOUNCE, None, ())
    else:
        this = _change(state, is_open, at, sc)
    if settled is None:
        return this
    return DoorStep(
        this.state,
        this.report,
        this.verdict or settled.verdict,
        settled.decisions + this.decisions,
    )


def tick(
    state: DoorState,
    now: datetime,
    binding: Binding,
    directory: Directory,
    care: CareState | None = None,
) -> tuple[DoorState, tuple[Decision, ...]]:
    """Time-driven checks for one door: a bounce's interval ended, open-only hold, left open."""
    debounce = timedelta(seconds=directory.policy.door_debounce_s)
    if state.moved_at is not None:
        if not _due(state, now, debounce):
            return state, ()  # still bouncing: nothing is judged before the interval ends
        settled = _settle(state, _Scene(binding, directory, now, care))
        state, more = _open_checks(settled.state, now, binding, directory)
        return state, settled.decisions + more
    return _open_checks(state, now, binding, directory)


def next_due(
    state: DoorState, binding: Binding, directory: Directory, after: datetime | None = None
) -> datetime | None:
    """The first time at or after ``after`` at which ``tick`` would change the door or decide.

    None when no time would, as long as the state stays as it is (a report changes it; a site
    reload changes the policy and the period, and the watch computes every deadline again).

    Args:
        state: The door's state.
        binding: The door sensor and its household.
        directory: The site.
        after: The time of a tick that found nothing to do (None: no lower bound).
    """
    if state.moved_at is not None:
        if state.debounce_from is None:
            return None  # never judged by time (``_due`` needs both), only by the next report
        due = state.debounce_from + timedelta(seconds=directory.policy.door_debounce_s)
        return due if after is None else max(due, after)
    if not state.open or state.changed_at is None:
        return None
    dev, iso = binding.device, binding.household.isolation
    if dev.open_hold_s is not None:
        due = state.changed_at + timedelta(seconds=dev.open_hold_s)
        return due if after is None else max(due, after)
    if state.left_open_raised or iso is None:
        return None
    # Raised once open for door_left_open_s, and only while the period runs.
    due = max(state.changed_at + timedelta(seconds=directory.policy.door_left_open_s), iso.start)
    if after is not None:
        due = max(due, after)
    return due if due < iso.end else None


def _stale(state: DoorState, is_open: bool, at: datetime, sc: _Scene) -> DoorStep:
    """A report that a newer one overtook: the door stays as the newer one left it.

    A stale "closed" tells nothing the newer report does not. A stale "open" still happened: it
    is judged at its own time, so that an opening is never swallowed by the order it arrived
    in (the alert desk folds it into the household's active breach, if one is open).
    """
    if not is_open:
        return DoorStep(state, DoorReport.STALE, None, ())
    return _opening(state, DoorReport.STALE, at, sc)


def _opening(state: DoorState, report: DoorReport, at: datetime, sc: _Scene) -> DoorStep:
    """An opening at ``at`` judged: ``state`` as it leaves the door, a breach if it is one."""
    verdict = opening_verdict(sc.binding, at, sc.care)
    if verdict is not DoorVerdict.BREACH:
        return DoorStep(state, report, verdict, ())
    return DoorStep(state, report, verdict, (_breach(sc, at),))


def _breach(sc: _Scene, at: datetime) -> Raise:
    hh, dev, directory = sc.binding.household, sc.binding.device, sc.directory
    local = at.astimezone(directory.tz)
    return Raise(
        AlertType.DOOR_BREACH,
        hh.id,
        dev.id,
        at,
        f"门磁: {hh.address} {local:%H:%M} 开门，非授权时段",
        directory.recipients(AlertType.DOOR_BREACH, hh, sc.now),
    )


def _due(state: DoorState, t: datetime, debounce: timedelta) -> bool:
    """Whether a bounced move waits for judgement and its debounce interval ended by ``t``."""
    return (
        state.moved_at is not None
        and state.debounce_from is not None
        and t - state.debounce_from >= debounce
    )


def _settle(state: DoorState, sc: _Scene) -> DoorStep:
    """Judge the move that bounces left standing, as a change made when it moved."""
    assert state.open is not None and state.moved_at is not None  # _due saw to both
    judged = replace(state, open=not state.open, moved_at=None)
    return _change(judged, state.open, state.moved_at, sc)


def _change(state: DoorState, is_open: bool, at: datetime, sc: _Scene) -> DoorStep:
    """The door opened or closed at ``at``: a new state, and the decisions it takes."""
    # The first report only tells the state: bounces are measured from a change seen whole.
    since = at if state.open is not None else None
    new = DoorState(open=is_open, changed_at=at, debounce_from=since, seq=state.seq)
    hh, dev = sc.binding.household, sc.binding.device
    if not is_open:
        decisions: tuple[Decision, ...] = ()
        if state.left_open_raised:
            decisions = (Clear(AlertType.DOOR_LEFT_OPEN, hh.id, dev.id, at, "门已关闭"),)
        return DoorStep(new, DoorReport.CHANGE, None, decisions)
    return _opening(new, DoorReport.CHANGE, at, sc)


def _open_checks(
    state: DoorState, now: datetime, binding: Binding, directory: Directory
) -> tuple[DoorState, tuple[Decision, ...]]:
    """Open-only hold and left open, for a door whose state is judged."""
    if not state.open or state.changed_at is None:
        return state, ()
    hh, dev = binding.household, binding.device
    open_for = (now - state.changed_at).total_seconds()
    if dev.open_hold_s is not None:
        # An open-only sensor never says "closed": it counts as closed once its hold runs out.
        if open_for >= dev.open_hold_s:
            closed_at = state.changed_at + timedelta(seconds=dev.open_hold_s)
            return DoorState(open=False, changed_at=closed_at, seq=state.seq), ()
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
