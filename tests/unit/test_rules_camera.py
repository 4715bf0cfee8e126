"""Door cameras: motion correlated with door openings, motion at the door, camera tamper."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devices.events import (
    CameraFault,
    CameraTamperEvent,
    DeviceRef,
    DoorEvent,
    MotionEvent,
    Protocol,
)
from rules import camera
from rules.alerts import AlertType, Decision, Raise, Seen, Severity
from rules.directory import Directory
from rules.door import DoorState
from rules.engine import Outcome, Watch
from rules.site import Site
from tests.conftest import site_doc

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 23, 0, 0, tzinfo=TZ)
NIGHT = datetime(2026, 11, 23, 3, 0, tzinfo=TZ)  # isolation, no visit, w1 on duty
W = timedelta(seconds=20)  # policy.camera_window_s by default
ADDRESS = "幸福小区3栋2单元501"
CAMERAS: dict[str, DeviceRef] = {
    "cam-h1": DeviceRef(Protocol.MQTT, "cam-h1"),
    "frigate-h1": DeviceRef(Protocol.FRIGATE, "front"),
}
DOOR = DeviceRef(Protocol.ZIGBEE2MQTT, "h1/front door")


def s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def directory() -> Directory:
    """The test community; h1 has a camera of its own analysis and a Frigate camera."""
    doc = site_doc()
    cams: list[dict[str, Any]] = [
        {"id": "cam-h1", "kind": "camera", "protocol": "mqtt"},
        {
            "id": "frigate-h1",
            "kind": "camera",
            "protocol": "frigate",
            "address": "front",
            "zone": "door",
        },
    ]
    doc["households"][0]["devices"].extend(cams)
    return Directory.build(Site.model_validate(doc))


def watch(d: Directory) -> Watch:
    """A watch as rebuilt from the store: the door of h1 closed since midnight."""
    return Watch(d, START, doors={"door-h1": DoorState(False, START)})


def feed(w: Watch, device: str, event: DoorEvent | MotionEvent | CameraTamperEvent) -> Outcome:
    """Apply an event at its own time, decided at once."""
    binding = w.directory.device(device)
    assert binding is not None and event.ts is not None
    return w.on_event(binding, event, event.ts, event.ts)


def door(w: Watch, at: datetime, is_open: bool = True) -> Outcome:
    return feed(w, "door-h1", DoorEvent(device=DOOR, open=is_open, ts=at))


def motion(w: Watch, at: datetime, active: bool = True, cam: str = "cam-h1", **kw: Any) -> Outcome:
    return feed(w, cam, MotionEvent(device=CAMERAS[cam], active=active, ts=at, **kw))


def tick(w: Watch, now: datetime) -> list[Decision]:
    """What a tick decided, less the devices silent since midnight: not these tests' matter."""
    return [x for x in w.tick(now) if not _offline(x)]


def _offline(x: Decision) -> bool:
    return isinstance(x, Raise) and x.type is AlertType.DEVICE_OFFLINE


def seen(decisions: Sequence[Decision]) -> list[Seen]:
    return [x for x in decisions if isinstance(x, Seen)]


def alerts(decisions: Sequence[Decision], kind: AlertType) -> list[Raise]:
    return [x for x in decisions if isinstance(x, Raise) and x.type is kind]


def test_a_breach_seen_before_and_after_is_marked_once():
    """Motion 5 s before a breach and 15 s after: one Seen, with the motion closest to it."""
    w = watch(directory())
    assert motion(w, NIGHT - s(5)).decisions == ()
    motion(w, NIGHT - s(3), active=False)
    out = door(w, NIGHT)
    assert alerts(out.decisions, AlertType.DOOR_BREACH)
    assert seen(out.decisions) == [Seen("h1", "door-h1", "cam-h1", NIGHT, NIGHT - s(5))]
    later = motion(w, NIGHT + s(15))
    assert later.report == "start" and later.decisions == ()
    assert tick(w, NIGHT + s(60)) == []  # both runs belong to the opening


def test_motion_after_a_breach_marks_it_seen():
    """The door opens in the night; the camera sees someone 15 s later: Seen at that report."""
    w = watch(directory())
    assert seen(door(w, NIGHT).decisions) == []
    out = motion(w, NIGHT + s(15))
    assert seen(out.decisions) == [Seen("h1", "door-h1", "cam-h1", NIGHT, NIGHT + s(15))]


def test_motion_25_s_before_a_breach_is_motion_at_the_door():
    """Motion 25 s before the breach is no part of it: motion_at_door at motion + W, no Seen."""
    w = watch(directory())
    motion(w, NIGHT - s(25))
    assert tick(w, NIGHT - s(25) + W - s(1)) == []
    raised = alerts(tick(w, NIGHT - s(25) + W), AlertType.MOTION_AT_DOOR)
    assert [(a.device, a.at) for a in raised] == [("cam-h1", NIGHT - s(25))]
    assert seen(door(w, NIGHT).decisions) == []


def test_motion_25_s_after_a_breach_is_motion_at_the_door():
    """Motion 25 s after the breach: no Seen, motion_at_door once W has passed since it began."""
    w = watch(directory())
    door(w, NIGHT)
    assert seen(motion(w, NIGHT + s(25)).decisions) == []
    assert tick(w, NIGHT + s(25) + W - s(1)) == []
    raised = alerts(tick(w, NIGHT + s(25) + W), AlertType.MOTION_AT_DOOR)
    assert [a.at for a in raised] == [NIGHT + s(25)]


def test_someone_at_the_shut_door_tells_the_watcher_after_the_window():
    """Motion with the door shut: nothing at +W-1 s, motion_at_door to the watcher at +W."""
    w = watch(directory())
    motion(w, NIGHT)
    motion(w, NIGHT + s(4), active=False)
    assert tick(w, NIGHT + W - s(1)) == []
    (raised,) = tick(w, NIGHT + W)
    assert raised == Raise(
        AlertType.MOTION_AT_DOOR,
        "h1",
        "cam-h1",
        NIGHT,
        f"门口有人: {ADDRESS} 03:00 摄像头见门口有人，未开门",
        ("w1",),
        vulnerable=("elderly_alone",),  # 张三 lives alone: every alert about h1 says so
    )
    assert raised.severity is Severity.INFO
    assert tick(w, NIGHT + W + s(5)) == []  # once per run
    assert "h1" not in w.cameras  # and then forgotten: the state keeps only the window


def test_an_opening_within_the_window_cancels_motion_at_the_door():
    """An authorized opening, then motion 15 s later just past the visit: nothing at all."""
    w = watch(directory())
    visit_end = datetime(2026, 11, 23, 10, 20, tzinfo=TZ)
    out = door(w, visit_end - s(5))
    assert out.report == "change/authorized_visit"
    assert seen(motion(w, visit_end + s(10)).decisions) == []
    assert tick(w, visit_end + s(10) + W) == []


def test_motion_in_a_visit_window_is_an_expected_visitor():
    """Motion at 10:05 (a delivery, 10:00-10:20) raises nothing; the same at 10:25 does."""
    w = watch(directory())
    during = datetime(2026, 11, 23, 10, 5, tzinfo=TZ)
    motion(w, during)
    assert tick(w, during + W) == []
    after = datetime(2026, 11, 23, 10, 25, tzinfo=TZ)
    motion(w, after)
    assert alerts(tick(w, after + W), AlertType.MOTION_AT_DOOR)


def test_motion_outside_isolation_raises_nothing():
    """Before the isolation period begins, someone at the door is no alarm."""
    w = watch(directory())
    before = datetime(2026, 11, 19, 3, 0, tzinfo=TZ)
    assert motion(w, before).report == "start"
    assert tick(w, before + W) == []


@pytest.mark.parametrize(
    ("label", "zones"),
    [("car", ("door",)), ("person", ("driveway",)), ("person", ())],
    ids=["a car in the zone", "a person elsewhere", "a person in no zone"],
)
def test_frigate_counts_only_a_person_in_the_door_zone(label: str, zones: tuple[str, ...]):
    """A Frigate event for a car, or for a person outside the door zone, raises nothing."""
    w = watch(directory())
    out = motion(w, NIGHT, cam="frigate-h1", ref="1700000000.1-abc", label=label, zones=zones)
    assert out.report == "ignored"
    assert tick(w, NIGHT + W) == []


def test_frigate_person_in_the_door_zone_is_someone_at_the_door():
    """A person in the door zone starts a run; its updates go on with it; one alert."""
    w = watch(directory())
    ref = "1700000000.1-abc"
    first = motion(w, NIGHT, cam="frigate-h1", ref=ref, label="person", zones=("door",))
    again = motion(w, NIGHT + s(3), cam="frigate-h1", ref=ref, label="person", zones=("door",))
    assert (first.report, again.report) == ("start", "continue")
    raised = alerts(tick(w, NIGHT + W), AlertType.MOTION_AT_DOOR)
    assert [a.device for a in raised] == ["frigate-h1"]


def test_frigate_person_leaving_the_zone_ends_the_run():
    """An update with the person out of the door zone ends the run; back in, a new one."""
    w = watch(directory())
    ref, at = "1700000000.1-abc", NIGHT
    motion(w, at, cam="frigate-h1", ref=ref, label="person", zones=("door",))
    left = motion(w, at + s(2), cam="frigate-h1", ref=ref, label="person", zones=("yard",))
    back = motion(w, at + s(30), cam="frigate-h1", ref=ref, label="person", zones=("door",))
    assert (left.report, back.report) == ("end", "start")


def test_labels_and_zones_matter_only_for_frigate():
    """The gateway's own analysis reports only motion in the door region: every run counts."""
    d = directory()
    own, frigate = d.device("cam-h1"), d.device("frigate-h1")
    assert own is not None and frigate is not None

    def report(label: str | None, zones: tuple[str, ...]) -> MotionEvent:
        return MotionEvent(device=CAMERAS["frigate-h1"], active=True, label=label, zones=zones)

    assert camera.counts(own.device, report("car", ()))
    assert camera.counts(frigate.device, report(None, ("door",)))
    assert not camera.counts(frigate.device, report("car", ("door",)))


def test_a_discarded_motion_leaves_the_state_as_committed():
    """Motion staged, commit fails: nothing pending; the replayed motion raises at +W."""
    w = watch(directory())
    motion(w, NIGHT)
    assert "h1" in w.cameras
    w.discard()
    assert dict(w.cameras) == {}
    assert tick(w, NIGHT + W) == []
    w.discard()
    motion(w, NIGHT)
    w.install()
    assert dict(w.cameras.committed()).keys() == {"h1"}
    assert alerts(tick(w, NIGHT + W), AlertType.MOTION_AT_DOOR)


def test_a_watch_rebuilt_with_camera_state_goes_on_from_it():
    """The gateway passes the committed camera state: a pending run raises at its time."""
    d = directory()
    w = watch(d)
    motion(w, NIGHT)
    w.install()
    rebuilt = Watch(d, START, cameras=w.cameras.committed())
    assert alerts(tick(rebuilt, NIGHT + W), AlertType.MOTION_AT_DOOR)


@pytest.mark.parametrize("settle", ["tick", "report"])
def test_an_opening_left_by_bounces_is_seen_when_judged(settle: str):
    """Closed at T-1, reopened within the debounce: that opening, once judged, is seen too."""
    w = watch(directory())
    door(w, NIGHT - s(10))
    door(w, NIGHT - s(1), is_open=False)
    assert door(w, NIGHT - s(0.5)).report == "bounce"
    first = motion(w, NIGHT)
    assert [x.opened_at for x in seen(first.decisions)] == [NIGHT - s(10)]
    by_tick = settle == "tick"
    decided = tick(w, NIGHT + s(1)) if by_tick else list(door(w, NIGHT + s(2)).decisions)
    assert [b.at for b in alerts(decided, AlertType.DOOR_BREACH)] == [NIGHT - s(0.5)]
    assert seen(decided) == [Seen("h1", "door-h1", "cam-h1", NIGHT - s(0.5), NIGHT)]


def test_openings_of_a_household_without_a_camera_are_not_kept():
    """h2 has no camera: its breach records nothing for the correlation."""
    w = watch(directory())
    binding = w.directory.device("door-h2")
    assert binding is not None
    event = DoorEvent(device=DeviceRef(Protocol.NATIVE, "door-h2"), open=True, ts=NIGHT)
    out = w.on_event(binding, event, NIGHT, NIGHT)
    assert alerts(out.decisions, AlertType.DOOR_BREACH) and not seen(out.decisions)
    assert dict(w.cameras) == {}


@pytest.mark.parametrize(
    ("fault", "words"),
    [
        (CameraFault.COVERED, "镜头被遮挡"),
        (CameraFault.DEFOCUSED, "镜头失焦"),
        (CameraFault.MOVED, "摄像头被移动"),
    ],
)
def test_camera_tamper_names_the_fault(fault: CameraFault, words: str):
    """A covered (defocused, moved) camera raises tamper to officer, watcher and technician."""
    w = watch(directory())
    event = CameraTamperEvent(device=CAMERAS["cam-h1"], tamper=True, fault=fault, ts=NIGHT)
    (raised,) = feed(w, "cam-h1", event).decisions
    assert raised == Raise(
        AlertType.TAMPER,
        "h1",
        "cam-h1",
        NIGHT,
        f"防拆: {ADDRESS} 摄像头 cam-h1 03:00 {words}",
        ("p1", "w1", "t1"),
        vulnerable=("elderly_alone",),
    )
