"""Stretches of time between two datetimes, and how a site's times get their zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar
from zoneinfo import ZoneInfo

from pydantic import model_validator

from rules.strict import Strict


class Interval(Strict):
    """A stretch of time between two datetimes: start inclusive, end exclusive."""

    start: datetime
    end: datetime
    _what: ClassVar[str] = "interval"  # the word the ordering error uses

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if not naive_lt(self.start, self.end):
            raise ValueError(f"{self._what} end must be after its start")
        return self

    def contains(self, t: datetime) -> bool:
        """Start inclusive, end exclusive."""
        start, end = self.start, self.end
        if start.tzinfo is None or t.tzinfo is not UTC:
            return start <= t < end
        # Aware times of different zones compare through utcoffset() each time (~4 µs a
        # comparison); the gateway's times are UTC: compare with the bounds in UTC, kept by
        # the interval's identity while its start and end stay the same objects.
        kept = _UTC_BOUNDS.get(id(self))
        if kept is None or kept[0] is not start or kept[1] is not end:
            if len(_UTC_BOUNDS) >= _UTC_BOUNDS_MAX:
                _UTC_BOUNDS.clear()
            kept = _UTC_BOUNDS[id(self)] = (start, end, start.astimezone(UTC), end.astimezone(UTC))
        return kept[2] <= t < kept[3]


_UTC_BOUNDS: dict[int, tuple[datetime, datetime, datetime, datetime]] = {}
_UTC_BOUNDS_MAX = 100_000


def localize(span: Strict, tz: ZoneInfo) -> None:
    """Give ``span``'s naive ``start``/``end`` the site's zone, and its fixed offsets the one
    shared tzinfo per offset (a site built from entities already so changes nothing)."""
    for name in ("start", "end"):
        t = getattr(span, name)
        if not isinstance(t, datetime):
            continue
        if t.tzinfo is None:
            setattr(span, name, t.replace(tzinfo=tz))
            continue
        offset = t.tzinfo.utcoffset(None)  # None for a zone with rules (ZoneInfo)
        if offset is not None and t.tzinfo is not _FIXED.get(offset):
            setattr(span, name, t.replace(tzinfo=_fixed(offset)))


# One tzinfo per fixed offset for a whole site: each parsed "+08:00" time gets its own (40 bytes,
# two or more per household), the stored site's times all being parsed.
_FIXED: dict[timedelta, timezone] = {}


def _fixed(offset: timedelta) -> timezone:
    zone = _FIXED.get(offset)
    if zone is None:
        zone = _FIXED[offset] = UTC if not offset else timezone(offset)
    return zone


def naive_lt(a: datetime, b: datetime) -> bool:
    """Compare before localization: treat naive and aware alike by wall time if mixed."""
    if (a.tzinfo is None) != (b.tzinfo is None):
        return a.replace(tzinfo=None) < b.replace(tzinfo=None)
    return a < b
