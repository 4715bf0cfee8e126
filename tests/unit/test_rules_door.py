"""The door rule as plain synchronous steps with explicit times."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import door
from rules.alerts import AlertType, Clear, Raise
from rules.directory import Binding, Directory
from rules.site import Site
from tests.conftest import site_doc

TZ = ZoneInfo("Asia/Shanghai")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.fixture
def directory() -> Directory:
    return Directory.build(Site.model_validate(site_doc()))


def step(
    state: door.DoorState, is_open: bool, at: datetime, b: Binding, d: Directory
) -> door.DoorStep:
    """A contact report handled as it arrives: the gateway's time is the report's."""
    return door.step(state, is_open, at, b, d, now=at)


def h1_door(d: Directory):
    return d.device("door-h1")


def test_door_opened_at_night_alerts_the_officer_and_night_watcher(directory: Directory):
    """03:12 during isolation, no visit window → door_breach to p1 and w1."""
    result = step(
        door.DoorState(False), True, local("2026-11-23T03:12"), h1_door(directory), directory
    )
    assert result.report is door.DoorReport.CHANGE
    assert result.verdict is door.DoorVerdict.BREACH
    [raise_] = result.decisions
    assert isinstance(raise_, Raise)
    assert raise_.type is AlertType.DOOR_BREACH
    assert raise_.recipients == ("p1", "w1")
    assert raise_.message == "门磁: 幸福小区3栋2单元501 03:12 开门，非授权时段"


def test_day_shift_watcher_is_told_during_the_day(directory: Directory):
    """09:00 → the officer and w2 (08:00-16:00 covers h1)."""
    result = step(
        door.DoorState(False), True, local("2026-11-23T09:00"), h1_door(directory), directory
    )
    assert result.decisions[0].recipients == ("p1", "w2")


def test_opening_inside_a_visit_window_is_recorded_not_alerted(directory: Directory):
    """10:05 inside the 10:00-10:20 delivery window → no decisions."""
    result = step(
        door.DoorState(False), True, local("2026-11-23T10:05"), h1_door(directory), directory
    )
    assert result.verdict is door.DoorVerdict.AUTHORIZED_VISIT
    assert result.decisions == ()


def test_opening_outside_the_isolation_period_is_not_a_breach():
    """Before isolation starts the door is free."""
    d = Directory.build(Site.model_validate(site_doc()))
    result = step(door.DoorState(False), True, local("2026-11-19T23:00"), d.device("door-h1"), d)
    assert result.verdict is door.DoorVerdict.NOT_ISOLATED
    assert result.decisions == ()


def test_same_state_again_is_a_repeat(directory: Directory):
    """open, then open again → REPEAT, no decision."""
    b = h1_door(directory)
    first = step(door.DoorState(), True, local("2026-11-23T03:00"), b, directory)
    again = step(first.state, True, local("2026-11-23T03:05"), b, directory)
    assert again.report is door.DoorReport.REPEAT
    assert again.decisions == ()


def test_contact_bounce_within_debounce_is_one_event(directory: Directory):
    """open, close 0.2 s later, open 0.4 s later → one change, two bounces, one breach."""
    b = h1_door(directory)
    t = local("2026-11-23T03:00")
    s1 = step(door.DoorState(False, t - timedelta(hours=1)), True, t, b, directory)
    s2 = step(s1.state, False, t + timedelta(seconds=0.2), b, directory)
    s3 = step(s2.state, True, t + timedelta(seconds=0.4), b, directory)
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
    s = step(door.DoorState(False), True, t, b, directory).state
    s, none = door.tick(s, t + timedelta(seconds=119), b, directory)
    assert none == ()
    s, [left] = door.tick(s, t + timedelta(seconds=120), b, directory)
    assert left.type is AlertType.DOOR_LEFT_OPEN
    assert left.recipients == ("w1", "p1")
    s, again = door.tick(s, t + timedelta(seconds=300), b, directory)
    assert again == ()
    closed = step(s, False, t + timedelta(seconds=301), b, directory)
    assert [type(x) for x in closed.decisions] == [Clear]


def test_open_only_sensor_counts_closed_after_its_hold(directory: Directory):
    """A sensor with open_hold_s never says closed: the tick closes it, no left-open alarm."""
    doc = site_doc()
    doc["households"][0]["devices"][0]["open_hold_s"] = 30
    d = Directory.build(Site.model_validate(doc))
    b = d.device("door-h1")
    t = local("2026-11-23T03:00")
    s = step(door.DoorState(False), True, t, b, d).state
    s, out = door.tick(s, t + timedelta(seconds=31), b, d)
    assert s.open is False
    assert out == ()
    reopened = step(s, True, t + timedelta(seconds=200), b, d)
    assert reopened.report is door.DoorReport.CHANGE


def test_bounce_leaving_the_door_open_is_a_breach_when_the_interval_ends(directory: Directory):
    """Close at 03:00, open 0.3 s later (a bounce): the tick after the 1 s interval raises."""
    b = h1_door(directory)
    t = local("2026-11-23T03:00")
    closed = step(door.DoorState(True, t - timedelta(hours=1)), False, t, b, directory)
    opened = step(closed.state, True, t + timedelta(seconds=0.3), b, directory)
    assert (closed.report, opened.report) == (door.DoorReport.CHANGE, door.DoorReport.BOUNCE)
    assert opened.decisions == ()
    s, early = door.tick(opened.state, t + timedelta(seconds=0.8), b, directory)
    assert early == ()
    s, [breach] = door.tick(s, t + timedelta(seconds=1.5), b, directory)
    assert isinstance(breach, Raise)
    assert breach.type is AlertType.DOOR_BREACH
    assert breach.at == t + timedelta(seconds=0.3)
    assert s.open is True
    s, again = door.tick(s, t + timedelta(seconds=3), b, directory)
    assert again == ()


def test_bounce_leaving_the_door_open_is_judged_by_the_next_report(directory: Directory):
    """Without a tick in between, the next report (a heartbeat 'open') judges the bounce."""
    b = h1_door(directory)
    t = local("2026-11-23T03:00")
    closed = step(door.DoorState(True, t - timedelta(hours=1)), False, t, b, directory)
    opened = step(closed.state, True, t + timedelta(seconds=0.3), b, directory)
    heartbeat = step(opened.state, True, t + timedelta(seconds=30), b, directory)
    assert heartbeat.report is door.DoorReport.REPEAT
    assert heartbeat.verdict is door.DoorVerdict.BREACH
    assert [x.type for x in heartbeat.decisions] == [AlertType.DOOR_BREACH]
    later = step(heartbeat.state, True, t + timedelta(seconds=60), b, directory)
    assert later.decisions == ()


def test_first_report_does_not_start_a_debounce_interval(directory: Directory):
    """'closed' right after start-up, 'open' 0.3 s later: a change, and a breach at once."""
    b = h1_door(directory)
    t = local("2026-11-23T03:00")
    first = step(door.DoorState(), False, t, b, directory)
    opened = step(first.state, True, t + timedelta(seconds=0.3), b, directory)
    assert opened.report is door.DoorReport.CHANGE
    assert [x.type for x in opened.decisions] == [AlertType.DOOR_BREACH]


def test_bounce_back_to_an_alerted_opening_raises_no_second_breach(directory: Directory):
    """open (breach), close 0.2 s, open 0.4 s: the same opening; neither tick nor report repeats."""
    b = h1_door(directory)
    t = local("2026-11-23T03:00")
    s1 = step(door.DoorState(False, t - timedelta(hours=1)), True, t, b, directory)
    s2 = step(s1.state, False, t + timedelta(seconds=0.2), b, directory)
    s3 = step(s2.state, True, t + timedelta(seconds=0.4), b, directory)
    s, ticked = door.tick(s3.state, t + timedelta(seconds=2), b, directory)
    heartbeat = step(s, True, t + timedelta(seconds=30), b, directory)
    assert [x.type for x in s1.decisions] == [AlertType.DOOR_BREACH]
    assert s2.decisions == s3.decisions == ticked == heartbeat.decisions == ()


def test_bounce_leaving_the_door_closed_closes_it_without_alarm(directory: Directory):
    """open (breach), close 0.3 s later and stay closed: judged closed, never left open."""
    b = h1_door(directory)
    t = local("2026-11-23T03:00")
    s1 = step(door.DoorState(False, t - timedelta(hours=1)), True, t, b, directory)
    s2 = step(s1.state, False, t + timedelta(seconds=0.3), b, directory)
    s, settled = door.tick(s2.state, t + timedelta(seconds=1.5), b, directory)
    s, later = door.tick(s, t + timedelta(seconds=600), b, directory)
    assert settled == later == ()
    assert (s.open, s.changed_at) == (False, t + timedelta(seconds=0.3))


def test_recipients_are_those_on_duty_now_not_at_the_report_time(directory: Directory):
    """A 03:00 opening delivered at 09:00 (queued at the broker): the day watcher w2 is told."""
    b = h1_door(directory)
    opened = door.step(
        door.DoorState(False),
        True,
        local("2026-11-23T03:00"),
        b,
        directory,
        now=local("2026-11-23T09:00"),
    )
    [breach] = opened.decisions
    assert breach.recipients == ("p1", "w2")
    assert breach.at == local("2026-11-23T03:00")
    assert breach.message == "门磁: 幸福小区3栋2单元501 03:00 开门，非授权时段"


def test_visit_window_is_judged_at_the_report_time_not_now(directory: Directory):
    """An opening at 10:05 (in the delivery window) handled at 10:40 is still authorized."""
    opened = door.step(
        door.DoorState(False),
        True,
        local("2026-11-23T10:05"),
        h1_door(directory),
        directory,
        now=local("2026-11-23T10:40"),
    )
    assert opened.verdict is door.DoorVerdict.AUTHORIZED_VISIT
    assert opened.decisions == ()


CHATTER = st.lists(
    st.tuples(st.booleans(), st.sampled_from([0.0, 0.2, 0.5, 0.9, 1.0, 3.0, 600.0]), st.booleans()),
    max_size=40,
)


@given(CHATTER)
def test_breaches_never_exceed_real_openings(reports: list[tuple[bool, float, bool]]):
    """Whatever the contact chatter and ticks, there are no more breaches than openings."""
    d = Directory.build(Site.model_validate(site_doc()))
    b = d.device("door-h1")
    t = local("2026-11-23T03:00")
    state = door.DoorState()
    openings = breaches = 0
    for is_open, gap, tick_first in reports:
        t += timedelta(seconds=gap)
        if tick_first:
            state, ticked = door.tick(state, t, b, d)
            breaches += sum(x.type is AlertType.DOOR_BREACH for x in ticked)
        openings += is_open and state.open is not True
        result = step(state, is_open, t, b, d)
        breaches += sum(x.type is AlertType.DOOR_BREACH for x in result.decisions)
        state = result.state
        assert state.open is is_open
    assert breaches <= openings


@given(CHATTER)
def test_a_door_left_open_has_always_alerted(reports: list[tuple[bool, float, bool]]):
    """Whatever the chatter, a door that ends open has raised a breach once the interval ends."""
    d = Directory.build(Site.model_validate(site_doc()))
    b = d.device("door-h1")
    t = local("2026-11-23T03:00")
    state = door.DoorState()
    breaches = 0
    for is_open, gap, tick_first in reports:
        t += timedelta(seconds=gap)
        if tick_first:
            state, ticked = door.tick(state, t, b, d)
            breaches += sum(x.type is AlertType.DOOR_BREACH for x in ticked)
        result = step(state, is_open, t, b, d)
        breaches += sum(x.type is AlertType.DOOR_BREACH for x in result.decisions)
        state = result.state
    state, ticked = door.tick(state, t + timedelta(seconds=2), b, d)
    breaches += sum(x.type is AlertType.DOOR_BREACH for x in ticked)
    if state.open:
        assert breaches >= 1


def _numbered(
    reports: list[tuple[int, bool, str]], b: Binding, d: Directory
) -> tuple[door.DoorState, list[door.DoorStep]]:
    """Apply ``(seq, open, local time)`` reports in the order given, each handled on arrival."""
    state, steps = door.DoorState(), []
    for seq, is_open, at in reports:
        result = door.step(state, is_open, local(at), b, d, now=local(at), seq=seq)
        state = result.state
        steps.append(result)
    return state, steps


def test_a_heartbeat_overtaken_by_an_opening_does_not_make_a_second_breach(directory: Directory):
    """Seen in the fault suite: a sensor's link reconnects and sends the opening (seq 4) before
    the heartbeat it had queued (seq 3, closed). The late heartbeat must not close the door, or
    the next heartbeat (seq 5, still open) would be a second opening and a second alert."""
    b = h1_door(directory)
    state, steps = _numbered(
        [
            (2, False, "2026-11-23T03:00:00"),
            (4, True, "2026-11-23T03:12:00"),
            (3, False, "2026-11-23T03:12:01"),  # queued before the opening, arrives after it
            (5, True, "2026-11-23T03:12:02"),
            (6, False, "2026-11-23T03:12:03"),
        ],
        b,
        directory,
    )
    reports = [s.report for s in steps]
    assert reports == [
        door.DoorReport.CHANGE,
        door.DoorReport.CHANGE,
        door.DoorReport.STALE,
        door.DoorReport.REPEAT,
        door.DoorReport.CHANGE,
    ]
    raised = [x for s in steps for x in s.decisions if isinstance(x, Raise)]
    assert len(raised) == 1 and raised[0].at == local("2026-11-23T03:12:00")
    assert state.open is False and state.seq == 6


def test_an_opening_that_arrives_after_its_closing_still_alerts(directory: Directory):
    """Never swallowed by the order it came in: open (seq 7) overtaken by its close (seq 8)."""
    b = h1_door(directory)
    state, steps = _numbered(
        [
            (6, False, "2026-11-23T03:00:00"),
            (8, False, "2026-11-23T03:12:05"),
            (7, True, "2026-11-23T03:12:06"),
        ],
        b,
        directory,
    )
    assert steps[2].report is door.DoorReport.STALE
    assert steps[2].verdict is door.DoorVerdict.BREACH
    [raise_] = steps[2].decisions
    assert isinstance(raise_, Raise) and raise_.type is AlertType.DOOR_BREACH
    assert state.open is False and state.seq == 8  # the newer report stands


def test_a_sensor_that_restarted_its_count_is_followed_as_it_comes(directory: Directory):
    """Far below the last number (more than STALE_SEQS back): a restart, not a late report."""
    b = h1_door(directory)
    state, steps = _numbered(
        [
            (500, False, "2026-11-23T03:00:00"),
            (1, True, "2026-11-23T03:12:00"),
        ],
        b,
        directory,
    )
    assert steps[1].report is door.DoorReport.CHANGE
    assert steps[1].verdict is door.DoorVerdict.BREACH
    assert state.open is True and state.seq == 1
