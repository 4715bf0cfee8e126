"""Watch-shift coverage: households under isolation that no watcher's shift covers.

``coverage_tick`` raises ``no_watcher_on_duty`` (to the supervisors) once when a household's gap
begins and clears it when a shift covers the household again, or when the household is no longer
under isolation (or no longer in the site). ``shift_boundaries`` and ``next_boundary`` give the
times at which the roster changes: the handover summary lists them, and a gateway that wants the
gap raised on the second can schedule a coverage tick at the next boundary.

Daily shifts are local times in the site's zone and may run past midnight; dated shifts run from
their ``start`` (inclusive) to their ``end`` (exclusive), as :mod:`rules.roster` reads them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rules.alerts import AlertType, Clear, Decision, Raise
from rules.directory import Directory
from rules.roster import duties, shift_active
from rules.site import Household, Shift


@dataclass(frozen=True, slots=True)
class CoverageState:
    """Households with a raised gap and when the gap was raised, sorted by household id."""

    gaps: tuple[tuple[str, datetime], ...] = ()

    def gap_since(self, household_id: str) -> datetime | None:
        """When the household's current gap was raised, or None if it is covered."""
        return dict(self.gaps).get(household_id)


def shifts_on(directory: Directory, t: datetime) -> frozenset[int]:
    """The positions in the roster of the shifts running at ``t``.

    Who covers which household at ``t`` follows from this set alone, so while it stays the same
    (and no household's isolation begins or ends) the coverage stays the same.
    """
    tz = directory.tz
    return frozenset(i for i, s in enumerate(directory.shifts) if shift_active(s, t, tz))


def uncovered(households: Iterable[Household], directory: Directory, t: datetime) -> list[str]:
    """Ids of the households under isolation at ``t`` that no watcher's shift covers at ``t``.

    Args:
        households: Candidates; those not under isolation at ``t`` are skipped.
        directory: The site (its roster).
        t: An aware time.

    Returns:
        Household ids, in the order given.
    """
    running = [directory.shifts[i] for i in sorted(shifts_on(directory, t))]
    if any(s.households == "all" for s in running):
        return []  # a shift for all households runs: nobody is uncovered
    return [
        hh.id
        for hh in households
        if hh.isolation is not None
        and hh.isolation.contains(t)
        and not any(s.covers_household(hh.id) for s in running)
    ]


def coverage_tick(
    state: CoverageState,
    now: datetime,
    directory: Directory,
    only: Collection[str] | None = None,
) -> tuple[CoverageState, tuple[Decision, ...]]:
    """Raise ``no_watcher_on_duty`` at the start of each gap, once; clear it when it ends.

    Args:
        state: The previous state (``CoverageState()`` at first).
        now: The time of this tick.
        directory: The site.
        only: The households whose coverage may have changed since the state was made (their
            isolation began or ended); None looks at every household and every raised gap.

    Returns:
        The new state (the same object when nothing changed) and the decisions.
    """
    gaps = dict(state.gaps)
    if only is None:
        now_open = set(uncovered(directory.households.values(), directory, now))
        ending = gaps.keys() - now_open
    else:
        hhs = [directory.households[h] for h in only if h in directory.households]
        now_open = set(uncovered(hhs, directory, now))
        ending = {h for h in only if h in gaps and h not in now_open}
    decisions: list[Decision] = []
    for hid in sorted(ending):
        del gaps[hid]
        hh = directory.households.get(hid)
        watched = hh is not None and hh.isolation is not None and hh.isolation.contains(now)
        reason = "已有值班人员" if watched else "已不在隔离期"
        decisions.append(Clear(AlertType.NO_WATCHER_ON_DUTY, hid, None, now, reason))
    local = now.astimezone(directory.site.tz)
    for hid in sorted(now_open - gaps.keys()):
        hh = directory.households[hid]
        gaps[hid] = now
        decisions.append(
            Raise(
                AlertType.NO_WATCHER_ON_DUTY,
                hid,
                None,
                now,
                f"无人值守: {hh.address} {local:%H:%M} 起无值班人员",
                directory.recipients(AlertType.NO_WATCHER_ON_DUTY, hh, now),
            )
        )
    if not decisions:
        return state, ()
    return CoverageState(tuple(sorted(gaps.items()))), tuple(decisions)


def shift_boundaries(
    shifts: Iterable[Shift], start: datetime, end: datetime, tz: ZoneInfo
) -> list[datetime]:
    """Times in ``[start, end)`` at which any shift starts or ends.

    Args:
        shifts: The roster.
        start: Inclusive lower bound (aware).
        end: Exclusive upper bound (aware).
        tz: The site's zone, in which daily shifts are local times.

    Returns:
        Sorted, each instant once, in ``tz``.
    """
    found: set[datetime] = set()
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date()
    for shift in shifts:
        if shift.daily is None:
            if shift.start is not None and shift.end is not None:
                found.update((shift.start, shift.end))
            continue
        # A daily shift starts and ends at the same local times every day; one past midnight
        # ends on the next day, which the loop covers as that day's end time.
        day = first_day
        while day <= last_day:
            found.add(datetime.combine(day, shift.daily.start, tzinfo=tz))
            found.add(datetime.combine(day, shift.daily.end, tzinfo=tz))
            day += timedelta(days=1)
    return sorted({t.astimezone(tz) for t in found if start <= t < end})


def next_boundary(shifts: Iterable[Shift], after: datetime, tz: ZoneInfo) -> datetime | None:
    """The first time strictly after ``after`` at which any shift starts or ends.

    Args:
        shifts: The roster.
        after: An aware time.
        tz: The site's zone.

    Returns:
        The boundary, or None when no shift starts or ends after ``after``.
    """
    roster = list(shifts)
    # Every daily shift starts once a day, so two days always hold the next daily boundary.
    near = [b for b in shift_boundaries(roster, after, after + timedelta(days=2), tz) if b > after]
    if near:
        return near[0]
    later = [
        t
        for s in roster
        if s.daily is None
        for t in (s.start, s.end)
        if t is not None and t > after
    ]
    return min(later).astimezone(tz) if later else None


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of time in which no watcher's shift covers a household under isolation."""

    household: str
    start: datetime
    end: datetime


def gaps(directory: Directory, start: datetime, end: datetime) -> list[Gap]:
    """The coverage gaps in ``[start, end)`` of every household under isolation then.

    Args:
        directory: The site (its roster and households).
        start: Inclusive lower bound (aware).
        end: Exclusive upper bound (aware).

    Returns:
        Gaps by household (in the site's order), then by time.
    """
    stretches = duties(directory.shifts, start, end, directory.tz)
    found: list[Gap] = []
    for hh in directory.households.values():
        if hh.isolation is None:
            continue
        t, upto = max(start, hh.isolation.start), min(end, hh.isolation.end)
        covering = [d for d in stretches if d.households == "all" or hh.id in d.households]
        for d in covering:  # by start
            if d.start > t and t < upto:
                found.append(Gap(hh.id, t, min(d.start, upto)))
            t = max(t, d.end)
        if t < upto:
            found.append(Gap(hh.id, t, upto))
    return found
