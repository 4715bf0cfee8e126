"""The three-shift watch roster: who watches a household at a given moment."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
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
