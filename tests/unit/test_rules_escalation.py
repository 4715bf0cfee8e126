"""Escalation ladder of unacknowledged alerts, with explicit times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from rules.alerts import AlertType
from rules.directory import Directory
from rules.escalation import (
    LevelOutOfRangeError,
    due,
    escalation_targets,
    next_escalation,
    step_role,
)
from rules.site import Household, Site

TZ = ZoneInfo("Asia/Shanghai")
RAISED = datetime(2026, 11, 23, 7, 58, tzinfo=TZ)


def site(escalation: list[str] | None = None, household_supervisor: bool = True) -> Directory:
    """Two watchers changing at 08:00, one officer, doctor, two supervisors."""
    household: dict[str, Any] = {
        "id": "h1",
        "address": "幸福小区3栋2单元501",
        "officer": "p1",
        "doctor": "d1",
        "technician": "t1",
        "isolation": {"start": "2026-11-20T00:00", "end": "2026-12-04T00:00"},
    }
    if household_supervisor:
        household["supervisor"] = "s1"
    data: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "policy": {
            "ack_timeout_s": 120,
            "escalation": escalation or ["watcher", "officer", "supervisor"],
        },
        "staff": [
            {"id": "w1", "name": "李伟", "role": "watcher"},
            {"id": "w2", "name": "周敏", "role": "watcher"},
            {"id": "p1", "name": "赵致远", "role": "officer"},
            {"id": "d1", "name": "王医生", "role": "doctor"},
            {"id": "t1", "name": "陈师傅", "role": "technician"},
            {"id": "s1", "name": "黄主任", "role": "supervisor"},
            {"id": "s2", "name": "刘书记", "role": "supervisor"},
        ],
        "shifts": [
            {"watcher": "w1", "daily": "00:00-08:00"},
            {"watcher": "w2", "daily": "08:00-24:00"},
        ],
        "households": [household],
    }
    return Directory.build(Site.model_validate(data))


def h1(d: Directory) -> Household:
    return d.households["h1"]


def test_escalation_ladder_watcher_then_officer_then_supervisor() -> None:
    """A fever to doctor and watcher goes on to the officer, then the supervisor, then stops."""
    d = site()
    initial = d.recipients(AlertType.FEVER, h1(d), RAISED)
    assert initial == ("d1", "w1")
    targets = [escalation_targets(n, h1(d), d.policy, d, RAISED, initial) for n in range(3)]
    assert targets == [("d1", "w1"), ("d1", "w1", "p1"), ("d1", "w1", "p1", "s1")]
    assert [step_role(n, d.policy).value for n in range(3)] == ["watcher", "officer", "supervisor"]


def test_unacknowledged_alert_climbs_one_step_per_ack_timeout() -> None:
    """Raised 07:58: level 1 at 08:00, level 2 at 08:02, then the ladder is exhausted."""
    d = site()
    level, next_at = 0, next_escalation(0, RAISED, d.policy)
    history = []
    now = RAISED
    while now <= RAISED + timedelta(minutes=10):
        if due(level, next_at, now, acked=False):
            level += 1
            history.append((level, now))
            next_at = next_escalation(level, now, d.policy)
        now += timedelta(seconds=10)
    assert history == [
        (1, RAISED + timedelta(seconds=120)),
        (2, RAISED + timedelta(seconds=240)),
    ]
    assert next_at is None


def test_escalation_stops_at_once_on_acknowledgement() -> None:
    """An acknowledged alert is never due, even long past its escalation time."""
    next_at = RAISED + timedelta(seconds=120)
    assert due(0, next_at, next_at, acked=False)
    assert not due(0, next_at, next_at - timedelta(microseconds=1), acked=False)
    assert not due(0, next_at, next_at, acked=True)
    assert not due(1, next_at, next_at + timedelta(days=1), acked=True)
    assert not due(2, None, next_at + timedelta(days=1), acked=False)


def test_watcher_step_reads_the_roster_at_escalation_time() -> None:
    """Ladder officer → watcher: a 07:58 breach escalated at 08:00 reaches the new watcher w2."""
    d = site(escalation=["officer", "watcher", "supervisor"])
    initial = d.recipients(AlertType.DOOR_BREACH, h1(d), RAISED)
    assert initial == ("p1", "w1")
    at = RAISED + timedelta(seconds=120)
    assert escalation_targets(1, h1(d), d.policy, d, at, initial) == ("p1", "w1", "w2")


def test_supervisor_step_without_household_supervisor_tells_every_supervisor() -> None:
    """No supervisor assigned to the household: every supervisor of the site is told."""
    d = site(household_supervisor=False)
    assert escalation_targets(2, h1(d), d.policy, d, RAISED, ("p1",)) == ("p1", "s1", "s2")


def test_doctor_and_technician_steps_use_the_households_staff() -> None:
    """A ladder through technician and doctor names the household's own."""
    d = site(escalation=["watcher", "technician", "doctor"])
    assert escalation_targets(2, h1(d), d.policy, d, RAISED, ()) == ("t1", "d1")


def test_level_outside_the_ladder_is_refused() -> None:
    """Level 3 on a three-step ladder, or a negative level, is a corrupt record."""
    d = site()
    with pytest.raises(LevelOutOfRangeError):
        escalation_targets(3, h1(d), d.policy, d, RAISED, ())
    with pytest.raises(LevelOutOfRangeError):
        next_escalation(-1, RAISED, d.policy)
    with pytest.raises(LevelOutOfRangeError):
        due(-1, RAISED, RAISED, acked=False)
