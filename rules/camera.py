"""Door cameras: motion runs correlated with door openings (issue 9, "Correlation").

One :class:`CameraState` per household that has a camera. Three things feed it:

- ``on_motion``: a camera says a run of motion at the door began (``active``) or ended. A Frigate
  camera's report counts only for a person (or no label) and, when the camera has a ``zone:``,
  only while the person is in that zone; a report that does not count ends the run of its
  Frigate event. Runs are keyed by camera and Frigate event id (one key for the gateway's own
  analysis, which reports each run's start and end once).
- ``on_opening``: the door rule judged a door opening, a breach or not.
- ``tick``: time passes.

With ``W = policy.camera_window_s``, a run that *began* within ±W of an opening belongs to it.
A breach opening with a run of its own is :class:`~rules.alerts.Seen` (once per opening), so the
``door_breach`` alert is marked as seen by the camera. A run that no opening claims by the time W
has passed since it began raises ``motion_at_door`` at that tick — someone at the door who did
not open it — when it began during the isolation period and outside every visit window (an
expected visitor is no alarm). An opening that arrives meanwhile cancels it.

The state is small and bounded: openings are kept for W, ended runs for W after they began (so a
later opening finds them), an active run until it ends or goes :data:`STALE_RUN` without a report.
Nothing of it outlives a minute or so, so the gateway starts it empty.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from devices.events import MotionEvent, Protocol
from rules.alerts import AlertType, Decision, Raise, Seen
from rules.directory import Binding, Directory
from rules.door import DoorVerdict, opening_verdict
from rules.site import Device, DeviceKind, Household

PERSON = "person"
"""The only Frigate label that counts as someone at the door."""

STALE_RUN = timedelta(minutes=10)
"""An active run not heard of for this long is forgotten: its end was lost."""

_TICK = timedelta(microseconds=1)
"""The resolution of time: "more than W old" is "at least W and a microsecond"."""


class MotionReport(StrEnum):
    """What a motion report meant, kept beside the event in the log."""

    START = "start"  # a run began
    CONTINUE = "continue"  # the run of this key goes on (a Frigate update)
    END = "end"  # the run of this key ended
    IGNORED = "ignored"  # nothing at the door that counts, and no run to end


@dataclass(frozen=True, slots=True)
class Opening:
    """A judged door opening, kept for W so that motion after it finds it."""

    door: str
    at: datetime
    breach: bool
    seen: bool = False  # a Seen was decided for it


@dataclass(frozen=True, slots=True)
class Run:
    """A run of motion at the door. ``pending`` until it belongs to an opening or is decided."""

    camera: str
    ref: str | None  # Frigate's event id; None for the gateway's own analysis
    began: datetime
    last: datetime  # the latest report that it goes on
    active: bool = True
    pending: bool = True


@dataclass(frozen=True, slots=True)
class CameraState:
    """A household's recent openings and motion runs."""

    openings: tuple[Opening, ...] = ()
    runs: tuple[Run, ...] = ()


@dataclass(frozen=True, slots=True)
class MotionStep:
    """What ``on_motion`` returns."""

    state: CameraState
    report: MotionReport
    decisions: tuple[Decision, ...]


def has_camera(household: Household) -> bool:
    """Whether a household has a camera whose motion its openings are matched with."""
    # A loop, not any(…) over a generator: this runs at every door opening.
    for d in household.devices:  # noqa: SIM110
        if d.kind is DeviceKind.CAMERA:
            return True
    return False


def counts(device: Device, event: MotionEvent) -> bool:
    """Whether an active motion report of a camera means someone at the door.

    The gateway's own analysis reports only motion in the door region. Frigate reports every
    object it tracks: only a person (or an event without a label) counts, and when the camera
    has a ``zone:``, only while the person is in it.
    """
    if device.protocol is not Protocol.FRIGATE:
        return True
    if event.label is not None and event.label != PERSON:
        return False
    return device.zone is None or device.zone in event.zones


def on_motion(
    state: CameraState,
    event: MotionEvent,
    at: datetime,
    binding: Binding,
    directory: Directory,
    *,
    now: datetime,
) -> MotionStep:
    """Apply one motion report of a bound camera.

    Args:
        state: The household's camera state.
        event: The report: a run began or goes on (``active``), or ended.
        at: When it happened: a run that begins at ``at`` is matched with openings near it.
        binding: The camera and its household.
        directory: The site.
        now: The gateway's time: what is older than the window is forgotten.

    Returns:
        The new state, what the report was and the decisions (``Seen`` for breach openings a
        new run belongs to).
    """
    window = _window(directory)
    cam = binding.device
    state = _prune(state, now, window)
    current = next(
        (r for r in state.runs if r.camera == cam.id and r.ref == event.ref and r.active), None
    )
    if not (event.active and counts(cam, event)):
        if current is None:
            return MotionStep(state, MotionReport.IGNORED, ())
        ended = replace(current, active=False)
        return MotionStep(_swap(state, current, ended), MotionReport.END, ())
    if current is not None:
        if at <= current.last:
            return MotionStep(state, MotionReport.CONTINUE, ())
        going = replace(current, last=at)
        return MotionStep(_swap(state, current, going), MotionReport.CONTINUE, ())
    run = Run(camera=cam.id, ref=event.ref, began=at, last=at)
    near = [o for o in state.openings if abs(o.at - at) <= window]
    if near:
        run = replace(run, pending=False)
    openings, seen = _mark_seen(state.openings, near, run, binding.household.id)
    new = CameraState(openings=openings, runs=(*state.runs, run))
    return MotionStep(new, MotionReport.START, seen)


def on_opening(
    state: CameraState,
    door: str,
    at: datetime,
    breach: bool,
    household: Household,
    directory: Directory,
    *,
    now: datetime,
) -> tuple[CameraState, tuple[Decision, ...]]:
    """Record a door opening the door rule judged, and match it with runs near it.

    Args:
        state: The household's camera state.
        door: The door sensor's device id.
        at: When the door opened.
        breach: Whether the opening was a breach (it raised ``door_breach``).
        household: The household.
        directory: The site.
        now: The gateway's time: what is older than the window is forgotten.

    Returns:
        The new state and a ``Seen`` when the opening was a breach and a run began within the
        window of it. Runs near the opening no longer raise ``motion_at_door``.
    """
    window = _window(directory)
    state = _prune(state, now, window)
    near = [r for r in state.runs if abs(r.began - at) <= window]
    runs = tuple(
        replace(r, pending=False) if r.pending and abs(r.began - at) <= window else r
        for r in state.runs
    )
    opening = Opening(door=door, at=at, breach=breach)
    decisions: tuple[Decision, ...] = ()
    if breach and near:
        closest = min(near, key=lambda r: abs(r.began - at))
        opening = replace(opening, seen=True)
        decisions = (Seen(household.id, door, closest.camera, at, closest.began),)
    return CameraState(openings=(*state.openings, opening), runs=runs), decisions


def tick(
    state: CameraState, now: datetime, directory: Directory
) -> tuple[CameraState, tuple[Decision, ...]]:
    """Raise ``motion_at_door`` for runs no opening claimed within the window; forget old ones.

    Args:
        state: The household's camera state.
        now: The time of this tick.
        directory: The site.

    Returns:
        The new state (the same object when nothing changed) and the decisions.
    """
    window = _window(directory)
    due = [r for r in state.runs if r.pending and now - r.began >= window]
    decisions: list[Decision] = []
    for run in due:
        binding = directory.device(run.camera)
        if binding is not None:
            decisions.extend(_motion_at_door(run, binding, directory, now))
    if due:
        decided = {id(r) for r in due}
        runs = tuple(replace(r, pending=False) if id(r) in decided else r for r in state.runs)
        state = replace(state, runs=runs)
    return _prune(state, now, window), tuple(decisions)


def next_due(state: CameraState, directory: Directory) -> datetime | None:
    """The first time at which ``tick`` would decide or forget something, as long as the state
    stays as it is; None for an empty state.

    A pending run is decided W after it began; an opening is forgotten once more than W old, a
    decided run once more than W after it began and, while active, :data:`STALE_RUN` unheard.
    """
    window = _window(directory)
    times = [o.at + window + _TICK for o in state.openings]
    for r in state.runs:
        if r.pending:
            times.append(r.began + window)
        elif r.active:
            times.append(max(r.began + window + _TICK, r.last + STALE_RUN))
        else:
            times.append(r.began + window + _TICK)
    return min(times, default=None)


def _motion_at_door(
    run: Run, binding: Binding, directory: Directory, now: datetime
) -> tuple[Decision, ...]:
    """The ``motion_at_door`` alert of a run no opening claimed, if its time calls for one."""
    hh = binding.household
    # Someone at the door is an alarm exactly when a door opening then would be a breach:
    # inside the isolation period, outside every visit window.
    if opening_verdict(binding, run.began) is not DoorVerdict.BREACH:
        return ()
    local = run.began.astimezone(directory.tz)
    return (
        Raise(
            AlertType.MOTION_AT_DOOR,
            hh.id,
            run.camera,
            run.began,
            f"门口有人: {hh.address} {local:%H:%M} 摄像头见门口有人，未开门",
            directory.recipients(AlertType.MOTION_AT_DOOR, hh, now),
        ),
    )


def _mark_seen(
    openings: tuple[Opening, ...], near: list[Opening], run: Run, household: str
) -> tuple[tuple[Opening, ...], tuple[Decision, ...]]:
    """Mark the breach openings near a new run as seen, once each."""
    fresh = {id(o): o for o in near if o.breach and not o.seen}
    if not fresh:
        return openings, ()
    seen = tuple(Seen(household, o.door, run.camera, o.at, run.began) for o in fresh.values())
    marked = tuple(replace(o, seen=True) if id(o) in fresh else o for o in openings)
    return marked, seen


def _swap(state: CameraState, old: Run, new: Run) -> CameraState:
    """The state with one run replaced."""
    return replace(state, runs=tuple(new if r is old else r for r in state.runs))


def _prune(state: CameraState, now: datetime, window: timedelta) -> CameraState:
    """Forget openings older than the window and runs nothing can match or decide any more."""

    def keep(r: Run) -> bool:
        if r.pending or now - r.began <= window:
            return True
        return r.active and now - r.last < STALE_RUN

    openings = tuple(o for o in state.openings if now - o.at <= window)
    runs = tuple(r for r in state.runs if keep(r))
    if len(openings) == len(state.openings) and len(runs) == len(state.runs):
        return state
    return CameraState(openings, runs)


def _window(directory: Directory) -> timedelta:
    return timedelta(seconds=directory.policy.camera_window_s)
