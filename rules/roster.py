"""The three-shift watch roster: who watches a household at a given moment."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from rules.site import Shift


def shift_active(shift: Shift, t: datetime, tz: ZoneInfo) -> bool:
    """Whether a shift is running at ``t`` (an aware datetime)."""
    if shift.daily is not None:
        return shift.daily.contains(t.astimezone(tz).time())
    assert shift.start is not None
    assert shift.end is not None
    return shift.start <= t < shift.end


def watchers_on_duty(
    shifts: Iterable[Shift], household_id: str, t: datetime, tz: ZoneInfo
) -> list[str]:
    """Watcher ids whose running shift covers the household, in roster order, once each."""
    seen: dict[str, None] = {}
    for shift in shifts:
        if shift.covers_household(household_id) and shift_active(shift, t, tz):
            seen.setdefault(shift.watcher, None)
    return list(seen)


@dataclass(frozen=True, slots=True)
class Duty:
    """One stretch of a shift: its watcher, the households it covers, from ``start`` to ``end``."""

    watcher: str
    households: Literal["all"] | tuple[str, ...]
    start: datetime
    end: datetime


def duties(shifts: Iterable[Shift], start: datetime, end: datetime, tz: ZoneInfo) -> list[Duty]:
    """Every stretch of duty overlapping ``[start, end)``, by start; a daily shift that runs on
    into the next day's (``00:00-24:00``, or two that meet) is one stretch.

    Args:
        shifts: The roster.
        start: Inclusive lower bound (aware).
        end: Exclusive upper bound (aware).
        tz: The site's zone, in which daily shifts are local times.
    """
    found: list[Duty] = []
    for shift in shifts:
        cover: Literal["all"] | tuple[str, ...] = (
            "all" if shift.households == "all" else tuple(shift.households)
        )
        spans: list[tuple[datetime, datetime]] = []
        if shift.daily is None:
            assert shift.start is not None and shift.end is not None
            spans.append((shift.start, shift.end))
        else:
            # A stretch may have begun days before ``start`` when stretches meet: look back.
            day = start.astimezone(tz).date() - timedelta(days=2)
            while day <= end.astimezone(tz).date():
                s = datetime.combine(day, shift.daily.start, tzinfo=tz)
                e = datetime.combine(day, shift.daily.end, tzinfo=tz)
                spans.append((s, e if e > s else e + timedelta(days=1)))
                day += timedelta(days=1)
        merged: list[tuple[datetime, datetime]] = []
        for s, e in sorted(spans):
            if merged and s <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        found += [Duty(shift.watcher, cover, s, e) for s, e in merged if s < end and e > start]
    return sorted(found, key=lambda d: (d.start, d.watcher))


def on_duty_and_next(
    shifts: Iterable[Shift], now: datetime, tz: ZoneInfo
) -> tuple[list[Duty], list[Duty]]:
    """The stretches running at ``now``, and those that start first after it (all that start
    at that same time), looking two days ahead."""
    ahead = duties(shifts, now, now + timedelta(days=2), tz)
    current = [d for d in ahead if d.start <= now < d.end]
    later = [d for d in ahead if d.start > now]
    first = min((d.start for d in later), default=None)
    return current, [d for d in later if d.start == first]
