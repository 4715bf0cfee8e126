"""Watch-shift coverage: gaps in the roster, shift boundaries, with explicit times."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.alerts import AlertType, Clear, Raise
from rules.coverage import (
    CoverageState,
    coverage_tick,
    next_boundary,
    shift_boundaries,
    uncovered,
)
from rules.directory import Directory
from rules.site import Site

TZ = ZoneInfo("Asia/Shanghai")


def t(text: str) -> datetime:
    """A Shanghai wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def household(hid: str, start: str = "2026-11-20T00:00", end: str = "2026-12-04T00:00") -> Any:
    return {
        "id": hid,
        "address": f"幸福小区{hid}",
        "isolation": {"start": start, "end": end},
    }


def site(shifts: list[dict[str, Any]], households: list[Any] | None = None) -> Directory:
    """Watchers w1-w3 and supervisor s1; h1 and h2 under isolation unless told otherwise."""
    data: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "staff": [
            {"id": "w1", "name": "李伟", "role": "watcher"},
            {"id": "w2", "name": "周敏", "role": "watcher"},
            {"id": "w3", "name": "吴刚", "role": "watcher"},
            {"id": "s1", "name": "黄主任", "role": "supervisor"},
        ],
        "shifts": shifts,
        "households": households or [household("h1"), household("h2")],
    }
    return Directory.build(Site.model_validate(data))


# h2 has nobody between 08:00 and 16:00: the day watcher covers h1 only.
ROSTER = [
    {"watcher": "w1", "daily": "00:00-08:00", "households": "all"},
    {"watcher": "w2", "daily": "08:00-16:00", "households": ["h1"]},
    {"watcher": "w3", "daily": "16:00-24:00", "households": "all"},
]


def test_roster_gap_raises_no_watcher_on_duty_once_and_clears_when_covered() -> None:
    """h2 is uncovered 08:00-16:00: one alert to the supervisor at 08:00, cleared at 16:00."""
    d = site(ROSTER)
    state = CoverageState()
    seen: list[Raise | Clear] = []
    now = t("2026-11-23T07:59")
    while now <= t("2026-11-23T16:01"):
        state, decisions = coverage_tick(state, now, d)
        seen.extend(decisions)
        now += timedelta(seconds=30)
    assert seen == [
        Raise(
            AlertType.NO_WATCHER_ON_DUTY,
            "h2",
            None,
            t("2026-11-23T08:00"),
            "无人值守: 幸福小区h2 08:00 起无值班人员",
            ("s1",),
        ),
        Clear(AlertType.NO_WATCHER_ON_DUTY, "h2", None, t("2026-11-23T16:00"), "已有值班人员"),
    ]
    assert state == CoverageState()


def test_gap_is_remembered_while_it_lasts() -> None:
    """The state keeps when each gap was raised, so a restart from it does not raise again."""
    d = site(ROSTER)
    state, _ = coverage_tick(CoverageState(), t("2026-11-23T09:00"), d)
    assert state.gap_since("h2") == t("2026-11-23T09:00")
    assert state.gap_since("h1") is None
    _, again = coverage_tick(state, t("2026-11-23T12:00"), d)
    assert again == ()


def test_gap_ends_when_the_household_is_released() -> None:
    """Released at 10:00 in the middle of a gap: the alert is cleared, no new one."""
    d = site(ROSTER, [household("h1"), household("h2", end="2026-11-23T10:00")])
    state, raised = coverage_tick(CoverageState(), t("2026-11-23T09:00"), d)
    state, cleared = coverage_tick(state, t("2026-11-23T10:00"), d)
    assert [x.household for x in raised] == ["h2"]
    assert cleared == (
        Clear(AlertType.NO_WATCHER_ON_DUTY, "h2", None, t("2026-11-23T10:00"), "已不在隔离期"),
    )


def test_households_not_under_isolation_are_never_uncovered() -> None:
    """Without any shift, only households under isolation at t count as uncovered."""
    d = site([], [household("h1"), household("h2", start="2026-11-25T00:00")])
    assert uncovered(d.households.values(), d, t("2026-11-23T12:00")) == ["h1"]


def test_daily_shift_past_midnight_covers_both_sides_of_it() -> None:
    """A 22:00-06:00 shift covers 23:00 and 05:59, not 06:00."""
    d = site([{"watcher": "w1", "daily": "22:00-06:00"}])
    hs = list(d.households.values())
    assert uncovered(hs, d, t("2026-11-23T23:00")) == []
    assert uncovered(hs, d, t("2026-11-24T05:59:59")) == []
    assert uncovered(hs, d, t("2026-11-24T06:00")) == ["h1", "h2"]
    assert uncovered(hs, d, t("2026-11-23T21:59")) == ["h1", "h2"]


def test_dated_shift_covers_only_its_period() -> None:
    """A one-off 16:00-24:00 shift on the 23rd covers that evening and no other."""
    d = site([{"watcher": "w3", "start": "2026-11-23T16:00", "end": "2026-11-24T00:00"}])
    hs = list(d.households.values())
    assert uncovered(hs, d, t("2026-11-23T20:00")) == []
    assert uncovered(hs, d, t("2026-11-24T20:00")) == ["h1", "h2"]


def test_shift_boundaries_list_every_start_and_end_in_range() -> None:
    """Daily changes at 00:00, 08:00, 16:00, plus a dated shift's start and end, end exclusive."""
    shifts = [
        *ROSTER,
        {"watcher": "w2", "start": "2026-11-23T10:30", "end": "2026-11-23T12:00"},
    ]
    d = site(shifts)
    got = shift_boundaries(d.shifts, t("2026-11-23T00:00"), t("2026-11-24T00:00"), TZ)
    assert got == [
        t("2026-11-23T00:00"),
        t("2026-11-23T08:00"),
        t("2026-11-23T10:30"),
        t("2026-11-23T12:00"),
        t("2026-11-23T16:00"),
    ]


def test_next_boundary_is_strictly_after() -> None:
    """After 07:59 comes 08:00; after 08:00 comes 16:00; after 23:00 the wrap at midnight."""
    d = site(ROSTER)
    assert next_boundary(d.shifts, t("2026-11-23T07:59"), TZ) == t("2026-11-23T08:00")
    assert next_boundary(d.shifts, t("2026-11-23T08:00"), TZ) == t("2026-11-23T16:00")
    assert next_boundary(d.shifts, t("2026-11-23T23:00"), TZ) == t("2026-11-24T00:00")


def test_next_boundary_of_dated_shifts_far_ahead_or_none() -> None:
    """Only dated shifts: the next may be a week away; after the last one there is none."""
    d = site([{"watcher": "w3", "start": "2026-12-01T16:00", "end": "2026-12-02T00:00"}])
    assert next_boundary(d.shifts, t("2026-11-23T12:00"), TZ) == t("2026-12-01T16:00")
    assert next_boundary(d.shifts, t("2026-12-02T00:00"), TZ) is None


SPAN = st.tuples(st.integers(0, 23), st.sampled_from([0, 30]), st.integers(1, 47)).map(
    lambda x: (
        f"{x[0]:02d}:{x[1]:02d}-{((x[0] * 60 + x[1] + x[2] * 30) // 60) % 24:02d}:"
        f"{(x[0] * 60 + x[1] + x[2] * 30) % 60:02d}"
    )
)
DATED = st.tuples(st.integers(0, 4 * 48), st.integers(1, 48)).map(
    lambda x: (
        (t("2026-11-21T00:00") + timedelta(minutes=30 * x[0])).isoformat(),
        (t("2026-11-21T00:00") + timedelta(minutes=30 * (x[0] + x[1]))).isoformat(),
    )
)
SHIFT = st.builds(
    lambda watcher, form, daily, dated, hs: (
        {"watcher": watcher, "daily": daily, "households": hs}
        if form
        else {"watcher": watcher, "start": dated[0], "end": dated[1], "households": hs}
    ),
    st.sampled_from(["w1", "w2", "w3"]),
    st.booleans(),
    SPAN,
    DATED,
    st.one_of(st.just("all"), st.lists(st.sampled_from(["h1", "h2"]), unique=True)),
)


@settings(max_examples=80, deadline=None)
@given(shifts=st.lists(SHIFT, max_size=5), minute=st.integers(0, 5 * 24 * 60))
def test_property_uncovered_iff_nobody_on_duty(shifts: list[dict[str, Any]], minute: int) -> None:
    """For any roster and time: a household is uncovered exactly when no watcher is on duty."""
    d = site(shifts)
    now = t("2026-11-21T00:00") + timedelta(minutes=minute)
    gaps = uncovered(d.households.values(), d, now)
    for hid in ("h1", "h2"):
        assert (hid in gaps) == (d.on_duty(hid, now) == [])


@settings(max_examples=60, deadline=None)
@given(
    shifts=st.lists(SHIFT, min_size=1, max_size=5),
    fractions=st.lists(st.floats(0, 0.999), min_size=1, max_size=4),
)
def test_property_the_watch_changes_only_at_shift_boundaries(
    shifts: list[dict[str, Any]], fractions: list[float]
) -> None:
    """Between two consecutive boundaries, who is on duty for each household stays the same."""
    d = site(shifts)
    start, end = t("2026-11-21T00:00"), t("2026-11-25T00:00")
    marks = [start, *shift_boundaries(d.shifts, start, end, TZ), end]
    for lo, hi in pairwise(marks):
        if lo == hi:
            continue
        for f in fractions:
            inside = lo + (hi - lo) * f
            for hid in ("h1", "h2"):
                assert d.on_duty(hid, inside) == d.on_duty(hid, lo)
        if hi != end:
            assert next_boundary(d.shifts, lo, TZ) == hi
