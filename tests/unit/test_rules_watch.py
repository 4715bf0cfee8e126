"""The watch stages what events and ticks change; install makes it current, discard forgets it."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from devices.events import DeviceRef, DoorEvent, HeartbeatEvent, Protocol
from rules.alerts import AlertType, Raise
from rules.directory import Binding, Directory
from rules.door import DoorState
from rules.engine import Watch
from rules.health import DeviceHealth
from rules.site import Site
from tests.conftest import site_doc

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 23, 0, 0, tzinfo=TZ)
DOOR = DeviceRef(Protocol.ZIGBEE2MQTT, "h1/front door")


def t(text: str) -> datetime:
    """A Shanghai wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def directory() -> Directory:
    return Directory.build(Site.model_validate(site_doc()))


def door_of(d: Directory) -> Binding:
    b = d.device("door-h1")
    assert b is not None
    return b


def watch_with_closed_door(d: Directory) -> Watch:
    """A watch as rebuilt from the store: the door of h1 closed since midnight."""
    return Watch(d, START, doors={"door-h1": DoorState(False, START)})


def opened(at: datetime, battery: int | None = None) -> DoorEvent:
    return DoorEvent(device=DOOR, open=True, ts=at, battery=battery)


def test_a_discarded_breach_leaves_the_state_as_committed():
    """Open at 03:00, commit fails: the door is closed again, its health as before."""
    d = directory()
    w = watch_with_closed_door(d)
    doors, devices = dict(w.doors), dict(w.health)
    out = w.on_event(
        door_of(d), opened(t("2026-11-23T03:00"), battery=10), *[t("2026-11-23T03:00")] * 2
    )
    assert {x.type for x in out.decisions} == {AlertType.DOOR_BREACH, AlertType.LOW_BATTERY}
    assert w.doors["door-h1"].open is True
    w.discard()
    assert dict(w.doors) == doors
    assert dict(w.health) == devices


def test_replaying_after_a_discard_decides_the_same():
    """The same opening (with a low battery) after a failed commit raises the same alerts."""
    d = directory()
    w = watch_with_closed_door(d)
    at = t("2026-11-23T03:00")
    first = w.on_event(door_of(d), opened(at, battery=10), at, at)
    w.discard()
    again = w.on_event(door_of(d), opened(at, battery=10), at, at + timedelta(seconds=2))
    assert again == first


def test_a_discarded_tick_reports_the_missed_reading_again():
    """The 06:00-10:00 window ends unmet; the tick's commit fails; the next tick reports it."""
    d = directory()
    w = Watch(d, START, last_tick=t("2026-11-23T09:59:58"))
    first = [x for x in w.tick(t("2026-11-23T10:00:01")) if x.type is AlertType.MISSED_READING]
    assert len(first) == 2  # r1 in h1, r2 in h2
    assert w.last_tick == t("2026-11-23T10:00:01")
    w.discard()
    assert w.last_tick == t("2026-11-23T09:59:58")
    again = [x for x in w.tick(t("2026-11-23T10:00:03")) if x.type is AlertType.MISSED_READING]
    assert [(x.household, x.device, x.message) for x in again] == [
        (x.household, x.device, x.message) for x in first
    ]


def test_installed_state_sticks():
    """After install the door is open: the same report again is a repeat, not a second breach."""
    d = directory()
    w = watch_with_closed_door(d)
    at = t("2026-11-23T03:00")
    w.on_event(door_of(d), opened(at), at, at)
    w.install()
    w.discard()  # nothing staged any more: nothing to forget
    again = w.on_event(door_of(d), opened(at + timedelta(seconds=30)), at, at)
    assert again.report == "repeat"
    assert again.decisions == ()
    assert w.doors.committed()["door-h1"].open is True


def test_installed_tick_moves_last_tick():
    """A committed tick is the reference of the next: the window is not reported twice."""
    d = directory()
    w = Watch(d, START, last_tick=t("2026-11-23T09:59:58"))
    assert any(x.type is AlertType.MISSED_READING for x in w.tick(t("2026-11-23T10:00:01")))
    w.install()
    assert not any(x.type is AlertType.MISSED_READING for x in w.tick(t("2026-11-23T10:00:03")))
    assert w.last_tick_before == t("2026-11-23T10:00:01")


def test_events_of_one_batch_see_each_other():
    """Open then open again, battery low twice, before any commit: one breach, one low_battery."""
    d = directory()
    w = watch_with_closed_door(d)
    at = t("2026-11-23T03:00")
    first = w.on_event(door_of(d), opened(at, battery=10), at, at)
    later = at + timedelta(seconds=5)
    beat = HeartbeatEvent(device=DOOR, ts=later, battery=9)
    second = w.on_event(door_of(d), opened(later), later, later)
    third = w.on_event(door_of(d), beat, later, later)
    assert len(first.decisions) == 2
    assert second.report == "repeat"
    assert second.decisions == third.decisions == ()


def test_an_event_stages_only_its_own_device():
    """50,000 committed doors: a breach stages one door and one health entry, copying nothing."""
    d = directory()
    many = {f"door-{i}": DoorState(False, START) for i in range(50_000)}
    w = Watch(
        d,
        START,
        doors={**many, "door-h1": DoorState(False, START)},
        devices={k: DeviceHealth(watched_since=START) for k in many},
    )
    committed = w.doors.committed()
    at = t("2026-11-23T03:00")
    out = w.on_event(door_of(d), opened(at), at, at)
    assert [type(x) for x in out.decisions] == [Raise]
    assert (w.doors.pending, w.health.pending) == (1, 1)
    assert w.doors.committed() is committed
    assert committed["door-h1"].open is False
    w.install()
    assert (w.doors.pending, len(w.doors), len(w.health)) == (0, 50_001, 50_001)


def test_the_watcher_on_duty_now_is_told_of_a_late_event():
    """An opening made at 03:00 and handled at 09:00 goes to the day watcher, dated 03:00."""
    d = directory()
    w = watch_with_closed_door(d)
    at = t("2026-11-23T03:00")
    out = w.on_event(door_of(d), opened(at), at, t("2026-11-23T09:00"))
    [breach] = out.decisions
    assert isinstance(breach, Raise)
    assert (breach.recipients, breach.at) == (("p1", "w2"), at)
