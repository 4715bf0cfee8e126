"""The roster as the console shows it: who is on duty now and next, and the gaps ahead."""

from __future__ import annotations

from datetime import timedelta

from rules.coverage import Gap, gaps
from rules.roster import on_duty_and_next
from tests.unit.test_rules_coverage import ROSTER, TZ, household, site, t


def test_on_duty_now_until_the_end_of_the_stretch_and_next_from_its_start():
    """At 10:00 w2 is on until 16:00 and w3 comes next at 16:00; at 23:00 w3 hands to w1."""
    d = site(ROSTER)
    now, nxt = on_duty_and_next(d.shifts, t("2026-11-23T10:00"), TZ)
    assert [(x.watcher, x.households, x.end) for x in now] == [
        ("w2", ("h1",), t("2026-11-23T16:00"))
    ]
    assert [(x.watcher, x.start) for x in nxt] == [("w3", t("2026-11-23T16:00"))]
    now, nxt = on_duty_and_next(d.shifts, t("2026-11-23T23:00"), TZ)
    assert [(x.watcher, x.households, x.end) for x in now] == [("w3", "all", t("2026-11-24T00:00"))]
    assert [(x.watcher, x.start) for x in nxt] == [("w1", t("2026-11-24T00:00"))]


def test_a_round_the_clock_shift_is_one_stretch_and_a_dated_one_counts_too():
    """A 00:00-24:00 daily shift runs on past midnight; a dated shift starting later is next."""
    d = site(
        [
            {"watcher": "w1", "daily": "00:00-24:00", "households": "all"},
            {"watcher": "w2", "start": "2026-11-23T12:00", "end": "2026-11-23T14:00"},
        ]
    )
    now, nxt = on_duty_and_next(d.shifts, t("2026-11-23T10:00"), TZ)
    assert [x.watcher for x in now] == ["w1"] and now[0].end > t("2026-11-24T10:00")
    assert [(x.watcher, x.start, x.end) for x in nxt] == [
        ("w2", t("2026-11-23T12:00"), t("2026-11-23T14:00"))
    ]


def test_gaps_of_the_next_day_per_household_within_its_isolation():
    """h2 is uncovered 08:00-16:00 each day; h1 never; a household out of isolation has none,
    one whose isolation ends at noon only up to noon."""
    d = site(
        ROSTER,
        [
            household("h1"),
            household("h2"),
            household("h3", "2026-11-01T00:00", "2026-11-02T00:00"),
            household("h4", "2026-11-20T00:00", "2026-11-24T12:00"),
        ],
    )
    start = t("2026-11-24T06:00")
    assert gaps(d, start, start + timedelta(hours=24)) == [
        Gap("h2", t("2026-11-24T08:00"), t("2026-11-24T16:00")),
        Gap("h4", t("2026-11-24T08:00"), t("2026-11-24T12:00")),
    ]
    # Seen from inside a gap, it runs from now.
    later = t("2026-11-24T09:30")
    assert gaps(d, later, later + timedelta(hours=1)) == [
        Gap("h2", later, later + timedelta(hours=1)),
        Gap("h4", later, later + timedelta(hours=1)),
    ]
