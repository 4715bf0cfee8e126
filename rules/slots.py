"""The temperature log of an isolation period (体温监测表): day by day, each reading window of
the policy (morning, evening), per resident, the readings taken in it and the symptom check given
in it, or marked missed. Pure: the caller passes the readings, the checks and the time.

The doctor reviews it before signing towards release, and the release report prints it. A window
is in the log when the household was isolated for all of it, as the missed-reading rule counts
it (``rules.readings.tick``): a period of 14 whole days with two windows has 28 slots per
resident. A window that has not ended yet is neither taken nor missed (``pending``). Readings and
checks outside every window of the period are kept beside the day's slots, not dropped: the
doctor sees every reading. The release report lays the same slots out per resident and day
(:func:`resident_rows`), with each slot's symptom check reported, missed or without a record
(:class:`CheckState`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from rules.readings import Window, occurrence, residents, window_at
from rules.site import DailySpan, Household, Period


class CheckState(StrEnum):
    """What became of a slot's symptom check."""

    DONE = "done"  # reported: with symptoms, or none
    MISSED = "missed"  # the window ended without one (marked by the gateway)
    UNKNOWN = "unknown"  # nothing recorded either way


@dataclass(frozen=True, slots=True)
class LoggedReading:
    """A body temperature reading of the log; ``resident`` None: a thermometer of nobody."""

    resident: str | None
    at: datetime
    celsius: float


@dataclass(frozen=True, slots=True)
class LoggedCheck:
    """A symptom check; ``symptoms`` None is the gateway's mark of a window ended without one."""

    resident: str
    at: datetime
    symptoms: tuple[str, ...] | None
    window_start: datetime | None = None
    """The start of the reading window it was given in (as stored), else None."""
    by: str = "resident"
    """Who gave it: the resident on their page, or the staff member who entered it."""


@dataclass(frozen=True, slots=True)
class Slot:
    """One resident's reading window on one day."""

    resident: str
    window: Window
    readings: tuple[LoggedReading, ...]
    checks: tuple[LoggedCheck, ...]
    """The symptom checks given in the window (the gateway's missed marks left out)."""
    ended: bool
    marked: bool = False
    """The gateway marked the window ended without a symptom check."""

    @property
    def missed(self) -> bool:
        """The window ended without a reading."""
        return self.ended and not self.readings

    @property
    def check_missed(self) -> bool:
        """The window ended without a symptom check."""
        return self.ended and not self.checks

    @property
    def pending(self) -> bool:
        """The window has not ended yet."""
        return not self.ended

    @property
    def check_state(self) -> CheckState:
        """The symptom check as recorded: a report (symptoms or none) wins over the gateway's
        missed mark; neither is unknown."""
        if self.checks:
            return CheckState.DONE
        return CheckState.MISSED if self.marked else CheckState.UNKNOWN

    @property
    def symptoms(self) -> tuple[str, ...]:
        """The symptoms reported in the window, each once (empty: none, or no check)."""
        return tuple(dict.fromkeys(s for c in self.checks for s in c.symptoms or ()))


@dataclass(frozen=True, slots=True)
class LogDay:
    """One local day of the period: its slots (window order, then resident order), and what was
    taken outside every window that day."""

    day: date
    slots: tuple[Slot, ...]
    other_readings: tuple[LoggedReading, ...] = ()
    other_checks: tuple[LoggedCheck, ...] = ()


def period_windows(period: Period, spans: Sequence[DailySpan], tz: ZoneInfo) -> list[Window]:
    """Every occurrence of the reading windows that lies wholly in the period, in time order."""
    found: list[Window] = []
    day = period.start.astimezone(tz).date() - timedelta(days=1)  # a window that wraps midnight
    last = period.end.astimezone(tz).date()
    while day <= last:
        for span in spans:
            w = occurrence(span, day, tz)
            if period.start <= w.start and w.end <= period.end:
                found.append(w)
        day += timedelta(days=1)
    found.sort(key=lambda w: (w.start, w.end))
    return found


def temperature_log(
    household: Household,
    spans: Sequence[DailySpan],
    tz: ZoneInfo,
    readings: Iterable[LoggedReading],
    checks: Iterable[LoggedCheck],
    now: datetime,
    period: Period | None = None,
) -> list[LogDay]:
    """The household's log of its isolation period, day by day (empty without a period).

    Args:
        household: The household, with its residents, devices and isolation period.
        spans: The policy's reading windows.
        tz: The site's zone.
        readings: The household's readings (any order; those outside the period are left out).
        checks: Its symptom checks and missed marks (any order).
        now: The time: a window not ended by then is pending.
        period: The period to log instead of the household's (that of a release on record).

    Returns:
        One entry per local day from the period's first to its last, oldest first.
    """
    period = period or household.isolation
    if period is None:
        return []
    windows = period_windows(period, spans, tz)
    by_start = {w.start: w for w in windows}
    people = [r.resident_id for r in residents(household)]
    taken: dict[tuple[str, datetime], list[LoggedReading]] = {}
    checked: dict[tuple[str, datetime], list[LoggedCheck]] = {}
    marked: set[tuple[str, datetime]] = set()
    other_readings: dict[date, list[LoggedReading]] = {}
    other_checks: dict[date, list[LoggedCheck]] = {}
    for r in sorted(readings, key=lambda x: x.at):
        if not period.contains(r.at):
            continue
        w = _window_of(r.at, None, spans, tz, by_start)
        if w is None or r.resident is None:
            other_readings.setdefault(r.at.astimezone(tz).date(), []).append(r)
        else:
            taken.setdefault((r.resident, w.start), []).append(r)
    for c in sorted(checks, key=lambda x: x.at):
        w = _window_of(c.at, c.window_start, spans, tz, by_start)
        if c.symptoms is None:  # the gateway's mark: no check, but a record of none
            if w is not None:
                marked.add((c.resident, w.start))
        elif w is None:
            if period.contains(c.at):
                other_checks.setdefault(c.at.astimezone(tz).date(), []).append(c)
        else:
            checked.setdefault((c.resident, w.start), []).append(c)
    slots: dict[date, list[Slot]] = {}
    for w in windows:
        for rid in people:
            key = (rid, w.start)
            readings_in, checks_in = tuple(taken.get(key, ())), tuple(checked.get(key, ()))
            slot = Slot(rid, w, readings_in, checks_in, w.end <= now, key in marked)
            slots.setdefault(w.start.astimezone(tz).date(), []).append(slot)
    first = period.start.astimezone(tz).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(tz).date()
    days = []
    day = first
    while day <= last:
        days.append(
            LogDay(
                day,
                tuple(slots.get(day, ())),
                tuple(other_readings.get(day, ())),
                tuple(other_checks.get(day, ())),
            )
        )
        day += timedelta(days=1)
    return days


def resident_rows(
    days: Sequence[LogDay], resident: str, spans: Sequence[DailySpan]
) -> list[tuple[date, tuple[Slot | None, ...]]]:
    """One resident's log as a table: a row per day that has a slot of theirs, a column per
    policy window (in policy order), None where that day's window is not in the period."""
    column = {span.text: i for i, span in reversed(list(enumerate(spans)))}
    rows = []
    for d in days:
        cells: list[Slot | None] = [None] * len(spans)
        for s in d.slots:
            if s.resident == resident:
                cells[column[s.window.span]] = s
        if any(c is not None for c in cells):
            rows.append((d.day, tuple(cells)))
    return rows


def _window_of(
    at: datetime,
    window_start: datetime | None,
    spans: Sequence[DailySpan],
    tz: ZoneInfo,
    by_start: dict[datetime, Window],
) -> Window | None:
    """The logged window something belongs to: its stored window start, else where ``at``
    falls; None outside every window of the period."""
    if window_start is not None and window_start in by_start:
        return by_start[window_start]
    w = window_at(spans, at, tz)
    return by_start.get(w.start) if w is not None else None
