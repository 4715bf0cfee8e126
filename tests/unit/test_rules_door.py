"""The door rule as plain synchronous steps with explicit times."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import door
from rules.alerts import AlertType, Clear, Raise
from rules.directory import Directory
from rules.site import Site
from tests.conftest import site_doc

TZ = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def directory() -> Directory:
    return Directory.build(Site.model_validate(site_doc()))


def h1_door(d: Directory):
    return d.device("door-h1")


def test_door_opened_at_night_alerts_the_officer_and_night_watcher(directory: Directory):
    """03:12 during isolation, no visit window → door_breach to p1 and w1."""
    step = door.step(
        door.DoorState(False), True, local("2026-11-23T03:12"), h1_door(directory), directory
    )
    assert step.report is door.DoorReport.CHANGE
    assert step.verdict is door.DoorVerdict.BREACH
    [raise_] = step.decisions
    assert isinstance(raise_, Raise)
    assert raise_.type is AlertType.DOOR_BREACH
    assert raise_.recipients == ("p1", "w1")
    assert raise_.message == "门磁: 幸福小区3栋2单元501 03:12 开门，非授权时段"


def test_day_shift_watcher_is_told_during_the_day(directory: Directory):
    """09:00 → the officer and w2 (08:00-16:00 covers h1)."""
    step = door.step(
        door.DoorState(False), True, local("2026-11-23T09:00"), h1_door(directory), directory
    )
    assert step.decisions[0].recipients == ("p1", "w2")


def test_opening_inside_a_visit_window_is_recorded_not_alerted(directory: Directory):
    """10:05 inside the 10:00-10:20 delivery window → no decisions."""
    step = door.step(
        door.DoorState(False), True, local("2026-11-23T10:05"), h1_door(directory), directory
    )
    assert step.verdict is door.DoorVerdict.AUTHORIZED_VISIT
    assert step.decisions == ()


def test_opening_outside_the_isolation_period_is_not_a_breach():
    """Before isolation starts the door is free."""
    d = Directory.build(Site.model_validate(site_doc()))
    step = door.step(door.DoorState(False), True, local("2026-11-19T23:00"), d.device("door-h1"), d)
    assert step.verdict is door.DoorVerdict.NOT_ISOLATED
    assert step.decisions == ()


def test_same_state_again_is_a_repeat(directory: Directory):
    """open, then open again → REPEAT, no decision."""
    b = h1_door(directory)
    first = door.step(door.DoorState(), True, local("2026-11-23T03:00"), b, directory)
    again = door.step(first.state, True, local("2026-11-23T03:05"), b, directory)
    assert again.report is door.DoorReport.REPEAT
    assert again.decisions == ()


def test_contact_bounce_within_debounce_is_one_event(directory: Directory):
    """open, close 0.2 s later, open 0.4 s later → one change, two bounces, one breach."""
    b = h1_door(directory)
    t = local("2026-11-23T03:00")
    s1 = door.step(door.DoorState(False, t - timedelta(hours=1)), True, t, b, directory)
    s2 = door.step(s1.state, False, t + timedelta(seconds=0.2), b, directory)
    s3 = door.step(s2.state, True, t + timedelta(seconds=0.4), b, directory)
    assert [s.report for s in (s1, s2, s3)] == [
        door.DoorReport.CHANGE,
        door.DoorReport.BOUNCE,
        door.DoorReport.BOUNCE,
    ]
    assert len(s1.decisions) == 1
    assert s2.decisions == s3.decisions == ()
    assert s3.state.open is True


def test_door_left_open_raises_once_then_clears_on_close(directory: Directory):
    """Open 03:00; tick at +119 s nothing; +120 s door_left_open; close clears it."""
    b = h1_door(directory)
    t = local("2026-11-23T03:00")
    s = door.step(door.DoorState(False), True, t, b, directory).state
    s, none = door.tick(s, t + timedelta(seconds=119), b, directory)
    assert none == ()
    s, [left] = door.tick(s, t + timedelta(seconds=120), b, directory)
    assert left.type is AlertType.DOOR_LEFT_OPEN
    assert left.recipients == ("w1", "p1")
    s, again = door.tick(s, t + timedelta(seconds=300), b, directory)
    assert again == ()
    closed = door.step(s, False, t + timedelta(seconds=301), b, directory)
    assert [type(x) for x in closed.decisions] == [Clear]


def test_open_only_sensor_counts_closed_after_its_hold(directory: Directory):
    """A sensor with open_hold_s never says closed: the tick closes it, no left-open alarm."""
    doc = site_doc()
    doc["households"][0]["devices"][0]["open_hold_s"] = 30
    d = Directory.build(Site.model_validate(doc))
    b = d.device("door-h1")
    t = local("2026-11-23T03:00")
    s = door.step(door.DoorState(False), True, t, b, d).state
    s, out = door.tick(s, t + timedelta(seconds=31), b, d)
    assert s.open is False
    assert out == ()
    reopened = door.step(s, True, t + timedelta(seconds=200), b, d)
    assert reopened.report is door.DoorReport.CHANGE


@given(st.lists(st.tuples(st.booleans(), st.floats(0, 600)), max_size=40))
def test_breaches_never_exceed_real_openings(reports: list[tuple[bool, float]]):
    """Whatever the contact chatter, each breach decision is a closed→open change."""
    d = Directory.build(Site.model_validate(site_doc()))
    b = d.device("door-h1")
    t = local("2026-11-23T03:00")
    state = door.DoorState()
    for is_open, gap in reports:
        t += timedelta(seconds=gap)
        before = state.open
        step = door.step(state, is_open, t, b, d)
        if step.decisions and isinstance(step.decisions[0], Raise):
            assert is_open and before is not True
            assert step.report is door.DoorReport.CHANGE
        state = step.state
        assert state.open is is_open
