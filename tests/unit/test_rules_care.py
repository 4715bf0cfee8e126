"""The isolation's care rules: announced openings, releases, vulnerable residents, sign-offs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devices.events import DeviceRef, DoorEvent, Protocol, TemperatureEvent
from rules import care, escalation
from rules.alerts import AlertType, Decision, Raise
from rules.care import CareRefusedError, CareState, Opening
from rules.directory import Directory
from rules.door import DoorState
from rules.engine import Outcome, Watch
from rules.site import Role, Site
from tests.conftest import site_doc

TZ = ZoneInfo("Asia/Shanghai")
NIGHT = datetime(2026, 11, 23, 3, 0, tzinfo=TZ)  # isolation, no visit, w1 on duty
DOOR = DeviceRef(Protocol.ZIGBEE2MQTT, "h1/front door")
THERM = DeviceRef(Protocol.BLE, "A4:C1:38:00:00:01")


def directory(**policy: Any) -> Directory:
    return Directory.build(Site.model_validate(site_doc(**policy)))


def watch(d: Directory) -> Watch:
    return Watch(d, NIGHT - timedelta(hours=3), doors={"door-h1": DoorState(False, NIGHT)})


def door(w: Watch, at: datetime, is_open: bool = True) -> Outcome:
    binding = w.directory.device("door-h1")
    assert binding is not None
    return w.on_event(binding, DoorEvent(device=DOOR, open=is_open, ts=at), at, at)


def raised(decisions: tuple[Decision, ...] | list[Decision], kind: AlertType) -> list[Raise]:
    return [x for x in decisions if isinstance(x, Raise) and x.type is kind]


def announce(w: Watch, now: datetime, reason: str = "garbage") -> Opening:
    hh = w.directory.households["h1"]
    opening = care.prereport(w.care.get("h1"), hh, reason, w.directory, now)
    w.add_window("h1", opening, now)
    w.install()
    return opening


def test_an_opening_inside_an_announced_window_is_recorded_not_alerted():
    """garbage announced at 03:00 for 10 minutes: an opening at 03:09 is prereported; 03:11 is
    a breach as before."""
    w = watch(directory())
    opening = announce(w, NIGHT)
    assert opening.end == NIGHT + timedelta(minutes=10)
    inside = door(w, NIGHT + timedelta(minutes=9))
    assert inside.report == "change/prereported"
    assert inside.decisions == ()
    door(w, NIGHT + timedelta(minutes=9, seconds=30), is_open=False)
    after = door(w, NIGHT + timedelta(minutes=11))
    assert after.report == "change/breach"
    assert raised(after.decisions, AlertType.DOOR_BREACH)


def test_a_window_is_state_only_once_installed():
    """A pre-report whose commit failed (discarded) authorizes nothing."""
    w = watch(directory())
    hh = w.directory.households["h1"]
    w.add_window("h1", care.prereport(None, hh, "garbage", w.directory, NIGHT), NIGHT)
    w.discard()
    assert door(w, NIGHT + timedelta(minutes=1)).report == "change/breach"


def test_the_days_announcements_run_out_and_the_next_day_starts_again():
    """prereports_per_day 2: the third of the day is refused with 429; the next day is new."""
    w = watch(directory(prereports_per_day=2))
    announce(w, NIGHT)
    announce(w, NIGHT + timedelta(hours=1))
    hh = w.directory.households["h1"]
    with pytest.raises(CareRefusedError) as refused:
        care.prereport(w.care.get("h1"), hh, "garbage", w.directory, NIGHT + timedelta(hours=2))
    assert refused.value.code == 429
    announce(w, NIGHT + timedelta(days=1))


@pytest.mark.parametrize(("reason", "code"), [("party", 422), ("garbage", 409)])
def test_an_unknown_reason_or_a_household_out_of_isolation_is_refused(reason: str, code: int):
    doc = site_doc()
    doc["households"][0]["isolation"] = {"start": "2026-11-20T00:00", "end": "2026-11-21T00:00"}
    d = Directory.build(Site.model_validate(doc))
    with pytest.raises(CareRefusedError) as refused:
        care.prereport(None, d.households["h1"], reason, d, NIGHT)
    assert refused.value.code == code


def test_a_console_visit_authorizes_the_door_as_a_visit():
    w = watch(directory())
    w.add_window("h1", Opening(NIGHT, NIGHT + timedelta(minutes=20), "visit", "sampling"), NIGHT)
    w.install()
    assert door(w, NIGHT + timedelta(minutes=5)).report == "change/authorized_visit"


def test_nothing_about_a_released_household_is_raised():
    """Released: a door opening is not isolated, a fever is not raised; h2 still is watched."""
    d = directory()
    w = watch(d)
    hh = d.households["h1"]
    assert hh.isolation is not None
    w.release("h1", hh.isolation.start, NIGHT)
    w.install()
    out = door(w, NIGHT + timedelta(minutes=1))
    assert out.report == "change/not_isolated" and out.decisions == ()
    binding = d.device("therm-r1")
    assert binding is not None
    at = NIGHT + timedelta(hours=4)
    fever = w.on_event(binding, TemperatureEvent(device=THERM, celsius=38.6, ts=at), at, at)
    assert fever.decisions == ()
    assert care.released(hh, w.care.get("h1"))
    assert not care.release_due(hh, w.care.get("h1"), NIGHT)


def test_a_release_of_an_earlier_period_does_not_release_a_new_one():
    d = directory()
    hh = d.households["h1"]
    state = CareState((), (NIGHT - timedelta(days=30), NIGHT - timedelta(days=16)))
    assert not care.released(hh, state)


def test_every_alert_about_a_vulnerable_resident_is_marked():
    """张三 (h1) lives alone: his breach and fever are marked; 李四 (h2) has no flag."""
    d = directory()
    w = watch(d)
    (breach,) = raised(door(w, NIGHT).decisions, AlertType.DOOR_BREACH)
    assert breach.vulnerable == ("elderly_alone",)
    assert care.vulnerable_label(breach.vulnerable) == "【重点关注:独居老人】"
    assert care.vulnerable_flags(d.households["h2"], None) == ()


def test_a_symptom_check_raises_symptom_for_the_doctor_and_the_watcher():
    d = directory()
    w = watch(d)
    (symptom,) = w.on_symptoms("h1", "r1", ("dry_cough", "fatigue"), NIGHT, NIGHT)
    assert isinstance(symptom, Raise)
    assert symptom.type is AlertType.SYMPTOM
    assert symptom.recipients == ("d1", "w1")
    assert symptom.resident == "r1" and symptom.vulnerable == ("elderly_alone",)
    assert "干咳、乏力" in symptom.message and "张三" in symptom.message
    assert symptom.key == ("h1", "symptom", "r1")
    assert w.on_symptoms("h2", "r2", (), NIGHT, NIGHT) == ()


def test_a_window_without_a_symptom_check_is_marked_once():
    """Evening window 17:00-21:00: r1 checked at 18:00, r2 did not; at 21:00 only r2 is marked,
    and a later tick marks nobody again."""
    d = directory()
    w = watch(d)
    evening = datetime(2026, 11, 23, 18, 0, tzinfo=TZ)
    w.on_symptoms("h1", "r1", (), evening, evening)
    w.tick(datetime(2026, 11, 23, 20, 59, 59, tzinfo=TZ))
    w.install()
    w.tick(datetime(2026, 11, 23, 21, 0, 1, tzinfo=TZ))
    assert [(m.household, m.resident) for m in w.marks] == [("h2", "r2")]
    assert w.marks[0].window.end == datetime(2026, 11, 23, 21, 0, tzinfo=TZ)
    w.install()
    w.tick(datetime(2026, 11, 23, 21, 0, 6, tzinfo=TZ))
    assert w.marks == []


def test_a_vulnerable_residents_missed_reading_and_symptom_escalate_at_half_the_timeout():
    policy = directory().policy
    assert care.fast_escalation(AlertType.SYMPTOM, ("dialysis",))
    assert care.fast_escalation(AlertType.MISSED_READING, ("elderly_alone",))
    assert not care.fast_escalation(AlertType.DOOR_BREACH, ("elderly_alone",))
    assert not care.fast_escalation(AlertType.SYMPTOM, ())
    half = escalation.next_escalation(0, NIGHT, policy, fast=True)
    assert half == NIGHT + timedelta(seconds=policy.ack_timeout_s / 2)


def test_sign_offs_go_doctor_officer_cadre_then_control_staff():
    assert care.next_signoff([]) is Role.DOCTOR
    assert care.next_signoff(["doctor"]) is Role.OFFICER
    assert care.next_signoff(["doctor", "officer", "supervisor"]) is Role.WATCHER
    assert care.next_signoff(["doctor", "officer", "supervisor", "watcher"]) is None


def test_a_checkin_visit_is_due_every_three_days_from_the_last():
    hh = directory().households["h1"]
    assert hh.isolation is not None
    start = hh.isolation.start
    assert care.checkin_due(hh, None, 3, NIGHT) == start + timedelta(days=3)
    assert care.checkin_due(hh, NIGHT, 3, NIGHT) == NIGHT + timedelta(days=3)
