"""An interval of the site (a zone's offset) against the gateway's UTC times: the same answers
as a comparison of the times themselves, at the edges too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from rules.site import Interval, Period

CST = timezone(timedelta(hours=8))
START = datetime(2026, 11, 20, 0, 0, tzinfo=CST)
END = datetime(2026, 12, 4, 0, 0, tzinfo=CST)


def test_start_is_in_end_is_out_whatever_the_zone_of_the_time():
    """UTC times (the gateway's), times in the site's zone and in another zone agree."""
    period = Period(start=START, end=END)
    for t in (START, END - timedelta(microseconds=1), START + timedelta(days=3)):
        assert period.contains(t.astimezone(UTC))
        assert period.contains(t)
        assert period.contains(t.astimezone(timezone(timedelta(hours=-5))))
    for t in (START - timedelta(microseconds=1), END, END + timedelta(days=1)):
        assert not period.contains(t.astimezone(UTC))
        assert not period.contains(t)


def test_an_interval_whose_bounds_change_answers_for_the_new_bounds():
    """The UTC bounds kept for an interval follow a change of its start or end."""
    visit = Interval(start=START, end=START + timedelta(hours=1))
    at = (START + timedelta(hours=2)).astimezone(UTC)
    assert not visit.contains(at)
    visit.end = START + timedelta(hours=3)
    assert visit.contains(at)
