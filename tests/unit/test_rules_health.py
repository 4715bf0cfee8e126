"""Device health rules: offline, low battery, tamper, with explicit times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from rules import health
from rules.alerts import AlertType, Clear, Raise
from rules.directory import Binding, Directory
from rules.health import DeviceHealth, Link
from rules.site import Site

TZ = ZoneInfo("Asia/Shanghai")
ADDRESS = "幸福小区3栋2单元501"
START = datetime(2026, 11, 23, 0, 0, tzinfo=TZ)  # the gateway started


def t(text: str) -> datetime:
    """A Shanghai wall time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def site(with_camera: bool = True) -> Directory:
    """A household with a door sensor, a thermometer and (optionally) a camera."""
    devices: list[dict[str, Any]] = [
        {"id": "door-h1", "kind": "door", "protocol": "zigbee2mqtt", "address": "h1_door"},
        {
            "id": "therm-r1",
            "kind": "thermometer",
            "protocol": "ble",
            "address": "A4:C1:38:00:00:01",
            "resident": "r1",
        },
    ]
    if with_camera:
        devices.append({"id": "cam-h1", "kind": "camera", "protocol": "mqtt"})
    data: dict[str, Any] = {
        "timezone": "Asia/Shanghai",
        "policy": {
            "device_offline_s": 600,
            "offline_s_by_kind": {"door": 900, "camera": 120},
            "offline_grace_s": 300,
            "low_battery_pct": 15,
        },
        "staff": [
            {"id": "w1", "name": "李伟", "role": "watcher"},
            {"id": "w2", "name": "周敏", "role": "watcher"},
            {"id": "p1", "name": "赵致远", "role": "officer"},
            {"id": "t1", "name": "陈师傅", "role": "technician"},
        ],
        "shifts": [
            {"watcher": "w1", "daily": "00:00-08:00"},
            {"watcher": "w2", "daily": "08:00-24:00"},
        ],
        "households": [
            {
                "id": "h1",
                "address": ADDRESS,
                "residents": [{"id": "r1", "name": "张三"}],
                "officer": "p1",
                "technician": "t1",
                "isolation": {"start": "2026-11-20T00:00", "end": "2026-12-04T00:00"},
                "devices": devices,
            }
        ],
    }
    return Directory.build(Site.model_validate(data))


def binding(d: Directory, device_id: str) -> Binding:
    b = d.device(device_id)
    assert b is not None
    return b


def heard_all(at: datetime, ids: tuple[str, ...]) -> dict[str, DeviceHealth]:
    """Every device spoke at ``at``."""
    return {i: health.on_message(DeviceHealth(watched_since=START), at, None) for i in ids}


ALL = ("door-h1", "therm-r1", "cam-h1")


def test_silent_door_sensor_goes_offline_after_its_kinds_allowance_and_clears_when_it_speaks() -> (
    None
):
    """A door sensor (900 s allowance) silent since 10:00 is offline at 10:15, back at 10:20."""
    d = site(with_camera=False)
    states = heard_all(t("2026-11-23T10:00"), ("door-h1", "therm-r1"))
    states["therm-r1"] = health.on_message(states["therm-r1"], t("2026-11-23T10:14"), None)

    states, early = health.tick(states, t("2026-11-23T10:14:59"), d, START)
    assert early == ()
    states, due = health.tick(states, t("2026-11-23T10:15:00"), d, START)
    assert due == (
        Raise(
            AlertType.DEVICE_OFFLINE,
            "h1",
            "door-h1",
            t("2026-11-23T10:15"),
            f"设备离线: {ADDRESS} 门磁 door-h1 已 15 分钟无消息",
            ("t1", "w2"),
        ),
    )
    states, again = health.tick(states, t("2026-11-23T10:16"), d, START)
    assert again == ()

    states["door-h1"] = health.on_message(states["door-h1"], t("2026-11-23T10:20"), None)
    states, back = health.tick(states, t("2026-11-23T10:20:04"), d, START)
    assert back == (
        Clear(AlertType.DEVICE_OFFLINE, "h1", "door-h1", t("2026-11-23T10:20"), "设备已恢复"),
    )
    _, quiet = health.tick(states, t("2026-11-23T10:20:09"), d, START)
    assert quiet == ()


def test_each_kind_has_its_own_allowance() -> None:
    """Camera 120 s (by kind), thermometer 600 s (the default), door 900 s."""
    d = site()
    states = heard_all(t("2026-11-23T10:00"), ALL)
    offline_at: dict[str, datetime] = {}
    now = t("2026-11-23T10:00")
    while now <= t("2026-11-23T10:20"):
        states, decisions = health.tick(states, now, d, START)
        for x in decisions:
            offline_at.setdefault(str(x.device), x.at)
        now += timedelta(seconds=30)
    assert offline_at == {
        "cam-h1": t("2026-11-23T10:02"),
        "therm-r1": t("2026-11-23T10:10"),
        "door-h1": t("2026-11-23T10:15"),
    }


def test_short_offline_status_dropout_at_night_is_no_alarm() -> None:
    """The bridge says offline at 02:00 and online at 02:03: within the 300 s grace, no alert."""
    d = site(with_camera=False)
    states = heard_all(t("2026-11-23T01:59"), ("door-h1", "therm-r1"))
    states["door-h1"] = health.on_message(states["door-h1"], t("2026-11-23T02:00"), False)
    assert states["door-h1"].link is Link.OFFLINE
    now, seen = t("2026-11-23T02:00"), []
    while now <= t("2026-11-23T02:08"):
        if now == t("2026-11-23T02:03"):
            states["door-h1"] = health.on_message(states["door-h1"], now, True)
            states["therm-r1"] = health.on_message(states["therm-r1"], now, None)
        states, decisions = health.tick(states, now, d, START)
        seen.extend(decisions)
        now += timedelta(seconds=15)
    assert seen == []
    assert states["door-h1"].link is Link.ONLINE


def test_offline_status_past_the_grace_raises_and_online_clears() -> None:
    """Reported offline at 02:00 and still offline at 02:05: alert; online at 02:30: clear."""
    d = site(with_camera=False)
    states = heard_all(t("2026-11-23T01:59"), ("door-h1", "therm-r1"))
    door = health.on_message(states["door-h1"], t("2026-11-23T02:00"), False)
    # A repeated (retained) offline keeps the time it was first said.
    door = health.on_message(door, t("2026-11-23T02:01"), False)
    states["door-h1"] = door
    states, before = health.tick(states, t("2026-11-23T02:04:59"), d, START)
    states, raised = health.tick(states, t("2026-11-23T02:05"), d, START)
    assert before == ()
    assert [(x.type, x.device) for x in raised] == [(AlertType.DEVICE_OFFLINE, "door-h1")]
    assert isinstance(raised[0], Raise)
    assert raised[0].message == f"设备离线: {ADDRESS} 门磁 door-h1 报告离线已 5 分钟"
    assert raised[0].recipients == ("t1", "w1")

    states["therm-r1"] = health.on_message(states["therm-r1"], t("2026-11-23T02:29"), None)
    states["door-h1"] = health.on_message(states["door-h1"], t("2026-11-23T02:30"), True)
    _, cleared = health.tick(states, t("2026-11-23T02:30:03"), d, START)
    assert [(type(x), x.device, x.at) for x in cleared] == [
        (Clear, "door-h1", t("2026-11-23T02:30"))
    ]


def test_device_never_heard_is_silent_since_the_reference_time() -> None:
    """Never heard since the gateway started at 00:00: the thermometer is offline at 00:10."""
    d = site(with_camera=False)
    states, first = health.tick({}, t("2026-11-23T00:09:59"), d, START)
    assert first == ()
    assert set(states) == {"door-h1", "therm-r1"}
    _, decisions = health.tick(states, t("2026-11-23T00:10"), d, START)
    assert [x.device for x in decisions] == ["therm-r1"]


def test_states_of_unbound_devices_are_dropped() -> None:
    """A device removed from the site leaves the health map at the next tick."""
    d = site(with_camera=False)
    states = heard_all(t("2026-11-23T10:00"), ALL)
    states, _ = health.tick(states, t("2026-11-23T10:00:05"), d, START)
    assert set(states) == {"door-h1", "therm-r1"}


def test_no_offline_alert_outside_isolation() -> None:
    """Before the isolation starts a silent device is nobody's emergency."""
    d = site(with_camera=False)
    early = datetime(2026, 11, 19, 0, 0, tzinfo=TZ)
    _, decisions = health.tick({}, t("2026-11-19T12:00"), d, early)
    assert decisions == ()


def test_low_battery_raises_once_and_clears_above_the_hysteresis() -> None:
    """15 % raises, 14 % and 19 % do not repeat it, 21 % clears, 15 % raises again."""
    d = site()
    b = binding(d, "door-h1")
    s = DeviceHealth(watched_since=START)
    out = []
    for pct, minute in ((40, 0), (15, 1), (14, 2), (19, 3), (20, 4), (21, 5), (15, 6)):
        s, decisions = health.on_battery(
            s, pct, t(f"2026-11-23T10:0{minute}"), b, d, now=t(f"2026-11-23T10:0{minute}")
        )
        out.append([(type(x).__name__, x.at.minute) for x in decisions])
    assert out == [[], [("Raise", 1)], [], [], [], [("Clear", 5)], [("Raise", 6)]]
    _, (first,) = health.on_battery(
        DeviceHealth(watched_since=START),
        15,
        t("2026-11-23T10:01"),
        b,
        d,
        now=t("2026-11-23T10:01"),
    )
    assert first == Raise(
        AlertType.LOW_BATTERY,
        "h1",
        "door-h1",
        t("2026-11-23T10:01"),
        f"电量低: {ADDRESS} 门磁 door-h1 剩余 15%",
        ("t1",),
    )


def test_tamper_alerts_officer_watcher_and_technician_and_never_clears_itself() -> None:
    """Tamper True raises once; False afterwards clears nothing; a new True raises again."""
    d = site()
    b = binding(d, "door-h1")
    s = DeviceHealth(watched_since=START)
    s, first = health.on_tamper(s, True, t("2026-11-23T03:12"), b, d, now=t("2026-11-23T03:12"))
    assert first == (
        Raise(
            AlertType.TAMPER,
            "h1",
            "door-h1",
            t("2026-11-23T03:12"),
            f"防拆: {ADDRESS} 门磁 door-h1 03:12 被拆动",
            ("p1", "w1", "t1"),
        ),
    )
    s, repeat = health.on_tamper(s, True, t("2026-11-23T03:13"), b, d, now=t("2026-11-23T03:13"))
    s, restored = health.on_tamper(s, False, t("2026-11-23T03:20"), b, d, now=t("2026-11-23T03:20"))
    s, again = health.on_tamper(s, True, t("2026-11-23T04:00"), b, d, now=t("2026-11-23T04:00"))
    assert repeat == ()
    assert restored == ()
    assert [x.type for x in again] == [AlertType.TAMPER]


def test_tamper_during_installation_is_no_alarm_but_raises_once_isolation_starts() -> None:
    """The technician presses the tamper switch the day before; a still-open case alerts later."""
    d = site()
    b = binding(d, "door-h1")
    s = DeviceHealth(watched_since=START)
    s, before = health.on_tamper(s, True, t("2026-11-19T15:00"), b, d, now=t("2026-11-19T15:00"))
    s, inside = health.on_tamper(s, True, t("2026-11-20T00:05"), b, d, now=t("2026-11-20T00:05"))
    assert before == ()
    assert [x.type for x in inside] == [AlertType.TAMPER]


def test_a_camera_sending_only_bad_frames_is_offline_with_the_reason_until_a_good_one() -> None:
    from rules.health import on_bad_frames

    t0 = t("2026-11-23T12:00")
    d = site()
    st = health.on_message(DeviceHealth(watched_since=t0), t0, None)
    st = on_bad_frames(st, "not a JPEG (no start-of-image marker)")
    states, decisions = health.tick(
        heard_all(t0, ("door-h1", "therm-r1")) | {"cam-h1": st}, t0 + timedelta(seconds=5), d, t0
    )
    (raise_,) = [x for x in decisions if x.device == "cam-h1"]
    assert isinstance(raise_, Raise) and raise_.type is AlertType.DEVICE_OFFLINE
    assert "只发来坏帧" in raise_.message and "start-of-image" in raise_.message
    assert set(raise_.recipients) >= {"t1"}
    back = health.on_message(states["cam-h1"], t0 + timedelta(seconds=9), None)
    _, decisions = health.tick(states | {"cam-h1": back}, t0 + timedelta(seconds=10), d, t0)
    assert [type(x) for x in decisions if x.device == "cam-h1"] == [Clear]
