"""The watch: per-device, per-resident and per-household rule state; events and ticks dispatched.

Pure: the caller gives each event with its time and the current time, and calls ``tick`` with
the time; the watch answers with decisions. Its state is a projection the gateway rebuilds from
the store at start, and changes only when the caller installs what a committed batch staged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from devices.events import (
    CameraTamperEvent,
    DoorEvent,
    Event,
    FrameEvent,
    MotionEvent,
    StatusEvent,
    TemperatureEvent,
)
from rules import camera, care, coverage, door, health, readings
from rules.alerts import Decision, Raise
from rules.camera import CameraState
from rules.care import CareState, Opening
from rules.checks import MissedCheck, missed_checks
from rules.coverage import CoverageState
from rules.directory import Binding, Directory
from rules.door import DoorReport, DoorState, DoorStep, DoorVerdict
from rules.health import DeviceHealth
from rules.readings import ReadingState, ResidentKey
from rules.schedule import Lane, Schedule, camera_due, door_due, health_due
from rules.site import DeviceKind
from rules.staged import Staged


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one event meant: a note for the log (e.g. ``change/breach``) and the decisions."""

    report: str | None
    decisions: tuple[Decision, ...]


class Watch:
    """Rule state for a site's devices, residents and door cameras, staged until the caller commits.

    ``reference`` is when the gateway began watching (start, or a site reload): a device never
    heard from is silent since then. ``last_tick`` is persisted so that a restart neither
    forgets a reading window that ended while it was down nor reports old ones.

    ``on_event`` and ``tick`` write their new states into a staged layer that every read sees
    (several events of one device in a batch follow each other). The caller records the decisions
    in one transaction, then calls ``install`` once it committed, or ``discard`` if it failed: the
    state is then exactly as last committed, and deciding the same events again decides the same.
    Staging an event costs O(its changes), never a copy of every device's state; a tick costs
    what is due (rules/schedule.py), never a look at every device.
    """

    def __init__(
        self,
        directory: Directory,
        reference: datetime,
        *,
        last_tick: datetime | None = None,
        doors: Mapping[str, DoorState] | None = None,
        devices: Mapping[str, DeviceHealth] | None = None,
        residents: Mapping[ResidentKey, ReadingState] | None = None,
        gaps: CoverageState | None = None,
        cameras: Mapping[str, CameraState] | None = None,
        care_states: Mapping[str, CareState] | None = None,
    ) -> None:
        """Start from committed state (empty, or as rebuilt from the store)."""
        self.directory = directory
        self.reference = reference
        self.doors: Staged[str, DoorState] = Staged(doors)
        self.health: Staged[str, DeviceHealth] = Staged(devices)
        self.readings: Staged[ResidentKey, ReadingState] = Staged(residents)
        # By household: its recent door openings and camera motion runs.
        self.cameras: Staged[str, CameraState] = Staged(cameras)
        # By household: announced openings, console visits, release (rules/care.py).
        self.care: Staged[str, CareState] = Staged(care_states)
        # Symptom checks a reading window ended without, marked by the last tick (staged).
        self.marks: list[MissedCheck] = []
        self._coverage = gaps or CoverageState()
        self._ticks: tuple[datetime | None, datetime | None] = (None, last_tick)
        self._staged_coverage: CoverageState | None = None
        self._staged_ticks: tuple[datetime | None, datetime | None] | None = None
        # When each door, camera and device is next due (rules/schedule.py): built by the
        # first tick, which visits everything, and kept by every step after.
        site = lambda: self.directory  # noqa: E731 - the lanes read the site in use
        self._schedule = Schedule(
            [
                Lane(self.doors, door_due, site),
                Lane(self.cameras, camera_due, site),
                Lane(self.health, health_due, site),
            ]
        )
        self._door_lane, self._camera_lane, self._health_lane = self._schedule.lanes

    @property
    def coverage(self) -> CoverageState:
        """Households with a raised roster gap (staged, else committed)."""
        staged = self._staged_coverage
        return staged if staged is not None else self._coverage

    @property
    def last_tick(self) -> datetime | None:
        """The time of the latest tick (staged, else committed)."""
        return (self._staged_ticks or self._ticks)[1]

    @property
    def last_tick_before(self) -> datetime | None:
        """The tick before the latest, for "since the last tick" (staged, else committed)."""
        return (self._staged_ticks or self._ticks)[0]

    def install(self) -> None:
        """The transaction recording the staged decisions committed: make their state current."""
        self._schedule.capture()
        self.doors.install()
        self.health.install()
        self.readings.install()
        self.cameras.install()
        self.care.install()
        self.marks = []
        if self._staged_coverage is not None:
            self._coverage = self._staged_coverage
        if self._staged_ticks is not None:
            self._ticks = self._staged_ticks
        self._staged_coverage = self._staged_ticks = None
        self._schedule.install()

    def discard(self) -> None:
        """The transaction failed: drop the staged state, back to exactly the committed one."""
        self._schedule.capture()
        self.doors.discard()
        self.health.discard()
        self.readings.discard()
        self.cameras.discard()
        self.care.discard()
        self.marks = []
        self._staged_coverage = self._staged_ticks = None
        self._schedule.discard()

    def reindex(self, directory: Directory, now: datetime) -> None:
        """A new site revision: keep the state of devices still bound, drop the rest."""
        self.directory = directory
        self.reference = now
        self.doors.retain(lambda k: directory.device(k) is not None)
        self.cameras.retain(lambda k: k in directory.households)
        self.care.retain(lambda k: k in directory.households)
        # Periods, policy and bindings may have changed: the next tick looks at everything.
        self._schedule.reload()

    def on_event(self, binding: Binding, event: Event, at: datetime, now: datetime) -> Outcome:
        """Apply one event of a bound device, staged.

        Args:
            binding: The device and its household.
            event: What it said.
            at: When it happened (the device's time when trusted): decides whether it fell in
                the isolation period or a visit window.
            now: The gateway's time: whom to tell (the watcher on duty now, not at ``at``).

        Returns:
            The note for the event log and the decisions.
        """
        dev = binding.device
        decisions: list[Decision] = []
        hs = self.health.get(dev.id) or DeviceHealth(watched_since=self.reference)
        if isinstance(event, FrameEvent) and event.frames == 0:
            hs = health.on_bad_frames(hs, event.fault or "bad frames")
        else:
            online = event.online if isinstance(event, StatusEvent) else None
            hs = health.on_message(hs, at, online)
        if event.battery is not None:
            hs, more = health.on_battery(hs, event.battery, at, binding, self.directory, now=now)
            decisions.extend(more)
        if event.tamper is not None:
            fault = event.fault if isinstance(event, CameraTamperEvent) else None
            hs, more = health.on_tamper(
                hs, event.tamper, at, binding, self.directory, now=now, fault=fault
            )
            decisions.extend(more)
        self.health[dev.id] = hs
        note: str | None = None
        if isinstance(event, DoorEvent) and dev.kind is DeviceKind.DOOR:
            before = self.doors.get(dev.id) or DoorState()  # built only when new
            cs = self.care.get(binding.household.id)
            result = door.step(
                before, event.open, at, binding, self.directory, now=now, care=cs, seq=event.seq
            )
            self.doors[dev.id] = result.state
            note = result.report.value
            if result.verdict is not None:
                note += "/" + result.verdict.value
            decisions.extend(result.decisions)
            opened_at = _opened_at(before, result, at)
            if opened_at is not None:
                breach = result.verdict is DoorVerdict.BREACH
                decisions.extend(self._opening(binding, opened_at, breach, now))
        elif isinstance(event, MotionEvent) and dev.kind is DeviceKind.CAMERA:
            hh = binding.household.id
            current = self.cameras.get(hh) or CameraState()
            run = camera.on_motion(current, event, at, binding, self.directory, now=now)
            if run.state is not current:
                self.cameras[hh] = run.state
            note = run.report.value
            decisions.extend(run.decisions)
        elif isinstance(event, TemperatureEvent) and dev.resident is not None:
            key = (binding.household.id, dev.resident)
            state, more = readings.step(
                self.readings.get(key, ReadingState()),
                event.celsius,
                at,
                binding,
                self.directory,
                now=now,
            )
            self.readings[key] = state
            decisions.extend(more)
        return Outcome(note, self._finish(decisions))

    def tick(self, now: datetime) -> list[Decision]:
        """Time-driven checks, staged: doors, silent devices, readings, gaps, motion at the door.

        Doors: a bounced opening judged, an open-only hold run out, a door left open. Motion at
        the door: a camera's run that no door opening claimed within the window.

        Decides what a look at every door, camera, device and household would decide, but
        visits only those whose deadline has come (and those this step staged): the first tick
        after a start or a site reload visits everything.
        """
        d = self.directory
        everything = self._schedule.begin_tick(now)
        out: list[Decision] = []
        for dev_id in self._door_lane.visit(now, everything):
            self._tick_door(dev_id, now, out)
        # After the doors: an opening they judged may have touched a camera (staged, visited).
        for hh in self._camera_lane.visit(now, everything):
            self._tick_camera(hh, now, out)
        if everything:
            # Also makes a state for every bound device and drops those of unbound ones.
            devices, more = health.tick(self.health, now, d, self.reference)
            self.health.replace_all(devices)
            out.extend(more)
        else:
            for dev_id in self._health_lane.visit(now, everything):
                self._tick_device(dev_id, now, out)
        out.extend(self._tick_readings(now))
        out.extend(self._tick_coverage(now, everything))
        self._staged_ticks = (self.last_tick, now)
        return list(self._finish(out))

    def _tick_door(self, dev_id: str, now: datetime, out: list[Decision]) -> None:
        state = self.doors.get(dev_id)
        binding = self.directory.device(dev_id)
        if state is None or binding is None:
            return
        cs = self.care.get(binding.household.id)
        new, more = door.tick(state, now, binding, self.directory, cs)
        if new is not state:
            self.doors[dev_id] = new
        out.extend(more)
        if state.open and state.moved_at is not None and new.moved_at is None:
            # The opening bounces left standing was judged now, as made when it moved.
            verdict = door.opening_verdict(binding, state.moved_at, cs)
            breach = verdict is DoorVerdict.BREACH
            out.extend(self._opening(binding, state.moved_at, breach, now))

    def _tick_camera(self, hh: str, now: datetime, out: list[Decision]) -> None:
        cams = self.cameras.get(hh)
        if cams is None:
            return
        new_cams, more = camera.tick(cams, now, self.directory)
        if not (new_cams.openings or new_cams.runs):
            del self.cameras[hh]
        elif new_cams is not cams:
            self.cameras[hh] = new_cams
        out.extend(more)

    def _tick_device(self, dev_id: str, now: datetime, out: list[Decision]) -> None:
        st = self.health.get(dev_id)
        binding = self.directory.device(dev_id)
        if st is None or binding is None:
            return  # after the first tick every bound device has a state, and only they
        new, more = health.tick_one(st, now, binding, self.directory)
        if new is not st:
            self.health[dev_id] = new
        out.extend(more)

    def _tick_readings(self, now: datetime) -> tuple[Decision, ...]:
        """Missed readings and symptom checks: only at a tick after a reading window ended."""
        d, last = self.directory, self.last_tick
        self.marks = []
        if readings.ended_window(d, last, now) is None:
            return ()
        changed, more = readings.missed_readings(self.readings, now, d, last)
        for key, state in changed.items():
            self.readings[key] = state
        checked, marks = missed_checks(self.readings, now, d, last)
        for key, st in checked.items():
            self.readings[key] = st
        self.marks = [m for m in marks if not self._released(m.household)]
        return more

    def _tick_coverage(self, now: datetime, everything: bool) -> tuple[Decision, ...]:
        """Roster gaps: looked at again where the running shifts or an isolation changed."""
        d = self.directory
        only = self._schedule.coverage_changes(d, self.last_tick, now, everything)
        if only == []:
            return ()  # nobody's coverage can have changed since the last tick
        state, more = coverage.coverage_tick(self.coverage, now, d, only)
        if state is not self.coverage:
            self._staged_coverage = state
        return more

    # --- the isolation's care (rules/care.py) ---------------------------------------------------

    def add_window(self, household_id: str, opening: Opening, now: datetime) -> None:
        """An announced opening or a console visit, staged: openings in it are authorized."""
        current = self.care.get(household_id) or CareState()
        self.care[household_id] = care.with_window(current, opening, now)

    def release(self, household_id: str, period_start: datetime, at: datetime) -> None:
        """The household's period ended in a release, staged: nothing about it alerts any more."""
        current = self.care.get(household_id) or CareState()
        self.care[household_id] = CareState(current.windows, (period_start, at))

    def on_symptoms(
        self,
        household_id: str,
        resident: str,
        symptoms: tuple[str, ...],
        at: datetime,
        now: datetime,
    ) -> tuple[Decision, ...]:
        """A resident's symptom check, staged: its window is checked; any symptom alerts."""
        hh = self.directory.households[household_id]
        key = (household_id, resident)
        self.readings[key] = readings.symptom_checked(
            self.readings.get(key, ReadingState()), at, self.directory
        )
        if not symptoms or hh.isolation is None or not hh.isolation.contains(at):
            return ()
        raised = care.symptom_raise(hh, resident, symptoms, at, self.directory, now)
        return self._finish([raised])

    def _released(self, household_id: str) -> bool:
        return care.released(
            self.directory.households.get(household_id), self.care.get(household_id)
        )

    def _finish(self, decisions: list[Decision]) -> tuple[Decision, ...]:
        """Nothing about a released household is raised; a raise is marked with the
        vulnerability of whom it is about."""
        out: list[Decision] = []
        for dec in decisions:
            if isinstance(dec, Raise):
                if self._released(dec.household):
                    continue
                dec = care.mark(dec, self.directory)
            out.append(dec)
        return tuple(out)

    def _opening(
        self, binding: Binding, at: datetime, breach: bool, now: datetime
    ) -> tuple[Decision, ...]:
        """Tell the household's camera correlation of a door opening the door rule judged."""
        hh = binding.household
        if not camera.has_camera(hh):
            return ()
        state, decisions = camera.on_opening(
            self.cameras.get(hh.id) or CameraState(),
            binding.device.id,
            at,
            breach,
            hh,
            self.directory,
            now=now,
        )
        self.cameras[hh.id] = state
        return decisions


def _opened_at(before: DoorState, result: DoorStep, at: datetime) -> datetime | None:
    """When the opening ``door.step`` judged happened, or None when it judged none.

    The report's own opening happened at ``at``; an opening that bounces left standing and that
    this report's time settled happened when the door moved (``before.moved_at``).
    """
    if result.verdict is None:
        return None
    if result.report is DoorReport.STALE or (
        result.report is DoorReport.CHANGE and result.state.open
    ):
        return at
    return before.moved_at
