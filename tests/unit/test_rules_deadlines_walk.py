"""The deadline-driven tick decides exactly what the old walk over everything decided.

The walk is kept here, as a reference only: every tick it looked at every door, every camera,
every device's health, every resident's readings and every household's coverage. Two watches
take the same random story (door reports with bounces and late ones, statuses, heartbeats,
batteries, bad frames, motion, readings, announced openings, releases, site reloads, ticks at
random times, commits that fail) and must decide the same and hold the same state throughout.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from devices.events import (
    DeviceRef,
    DoorEvent,
    Event,
    FrameEvent,
    HeartbeatEvent,
    MotionEvent,
    Protocol,
    StatusEvent,
    TemperatureEvent,
)
from rules import camera, care, door, health, readings
from rules.alerts import AlertType, Clear, Decision, Raise
from rules.checks import missed_checks
from rules.coverage import CoverageState
from rules.directory import Directory
from rules.door import DoorVerdict
from rules.engine import Watch
from rules.site import Site

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 23, 1, 50, tzinfo=TZ)


class WalkingWatch(Watch):
    """The watch with the tick it had before deadlines: a walk over everything."""

    def tick(self, now: datetime) -> list[Decision]:
        d = self.directory
        out: list[Decision] = []
        for dev_id, state in list(self.doors.items()):
            binding = d.device(dev_id)
            if binding is not None:
                cs = self.care.get(binding.household.id)
                new, more = door.tick(state, now, binding, d, cs)
                if new is not state:
                    self.doors[dev_id] = new
                out.extend(more)
                if state.open and state.moved_at is not None and new.moved_at is None:
                    verdict = door.opening_verdict(binding, state.moved_at, cs)
                    breach = verdict is DoorVerdict.BREACH
                    out.extend(self._opening(binding, state.moved_at, breach, now))
        for hh, cams in list(self.cameras.items()):
            new_cams, more = camera.tick(cams, now, d)
            if not (new_cams.openings or new_cams.runs):
                del self.cameras[hh]
            elif new_cams is not cams:
                self.cameras[hh] = new_cams
            out.extend(more)
        devices, more = health.tick(self.health, now, d, self.reference)
        self.health.replace_all(devices)
        out.extend(more)
        residents, more = readings.tick(self.readings, now, d, self.last_tick)
        self.readings.replace_all(residents)
        out.extend(more)
        checked, marks = missed_checks(self.readings, now, d, self.last_tick)
        for key, st_ in checked.items():
            self.readings[key] = st_
        self.marks = [m for m in marks if not self._released(m.household)]
        self._staged_coverage, more = walk_coverage(self.coverage, now, d)
        out.extend(more)
        self._staged_ticks = (self.last_tick, now)
        return list(self._finish(out))


def walk_coverage(
    state: CoverageState, now: datetime, d: Directory
) -> tuple[CoverageState, tuple[Decision, ...]]:
    """The coverage tick as it was: every household, its watchers on duty looked up one by one."""
    gaps = dict(state.gaps)
    now_open = {
        hh.id
        for hh in d.households.values()
        if hh.isolation is not None and hh.isolation.contains(now) and not d.on_duty(hh.id, now)
    }
    decisions: list[Decision] = []
    for hid in sorted(gaps.keys() - now_open):
        del gaps[hid]
        hh = d.households.get(hid)
        watched = hh is not None and hh.isolation is not None and hh.isolation.contains(now)
        reason = "已有值班人员" if watched else "已不在隔离期"
        decisions.append(Clear(AlertType.NO_WATCHER_ON_DUTY, hid, None, now, reason))
    local = now.astimezone(d.site.tz)
    for hid in sorted(now_open - gaps.keys()):
        hh = d.households[hid]
        gaps[hid] = now
        decisions.append(
            Raise(
                AlertType.NO_WATCHER_ON_DUTY,
                hid,
                None,
                now,
                f"无人值守: {hh.address} {local:%H:%M} 起无值班人员",
                d.recipients(AlertType.NO_WATCHER_ON_DUTY, hh, now),
            )
        )
    return CoverageState(tuple(sorted(gaps.items()))), tuple(decisions)


# --- the community -------------------------------------------------------------------------------


def household(hid: str, devices: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    return {
        "id": hid,
        "address": f"幸福小区{hid}",
        "residents": [{"id": f"r-{hid}", "name": f"居民{hid}"}],
        "officer": "p1",
        "doctor": "d1",
        "technician": "t1",
        "isolation": {"start": "2026-11-20T00:00", "end": "2026-12-04T00:00"},
        "devices": devices,
        **more,
    }


ALL = {"households": "all"}


def community(variant: int = 0) -> Directory:
    """Four households, doors of every kind, cameras, a roster with gaps, periods that begin
    and end during the story; ``variant`` 1 moves a period and drops a household, 2 changes
    the policy and the roster."""
    therm = {"kind": "thermometer", "protocol": "native"}
    households = [
        household(
            "h1",
            [
                {"id": "door-h1", "kind": "door", "protocol": "zigbee2mqtt", "address": "h1_d"},
                {**therm, "id": "therm-h1", "resident": "r-h1"},
                {"id": "cam-h1", "kind": "camera", "protocol": "mqtt"},
            ],
            visits=[{"start": "2026-11-23T02:10", "end": "2026-11-23T02:20"}],
        ),
        household(
            "h2",
            [
                {"id": "door-h2", "kind": "door", "protocol": "native"},
                {**therm, "id": "therm-h2", "resident": "r-h2"},
            ],
            isolation={"start": "2026-11-23T02:00", "end": "2026-11-23T04:00"},
        ),
        household(
            "h3",
            [
                {"id": "door-h3", "kind": "door", "protocol": "native", "open_hold_s": 30},
                {"id": "cam-h3", "kind": "camera", "protocol": "mqtt", "offline_s": 90},
            ],
        ),
        household(
            "h4",
            [{"id": "door-h4", "kind": "door", "protocol": "native"}],
            isolation={"start": "2026-11-23T03:00", "end": "2026-11-23T05:00"},
        ),
    ]
    shifts: list[dict[str, Any]] = [
        {"watcher": "w1", "daily": "00:00-02:00", "households": "all"},
        {"watcher": "w2", "daily": "02:30-04:00", "households": ["h1", "h3"]},
        {"watcher": "w1", "start": "2026-11-23T04:30", "end": "2026-11-23T05:30"} | ALL,
    ]
    policy: dict[str, Any] = {
        "door_left_open_s": 120,
        "door_debounce_s": 1.0,
        "camera_window_s": 20,
        "offline_grace_s": 60,
        "offline_s_by_kind": {"door": 400, "thermometer": 1800, "camera": 180},
        "reading_windows": ["02:00-02:20", "03:00-03:30", "04:40-04:50"],
    }
    if variant == 1:
        households[1]["isolation"] = {"start": "2026-11-23T02:40", "end": "2026-11-23T06:00"}
        households = households[:3]
    elif variant == 2:
        policy |= {"door_left_open_s": 60, "offline_s_by_kind": {"door": 200}}
        shifts = shifts[1:]
    doc = {
        "timezone": "Asia/Shanghai",
        "policy": policy,
        "staff": [
            {"id": "w1", "name": "李伟", "role": "watcher"},
            {"id": "w2", "name": "刘芳", "role": "watcher"},
            {"id": "p1", "name": "赵致远", "role": "officer"},
            {"id": "d1", "name": "王医生", "role": "doctor"},
            {"id": "t1", "name": "陈师傅", "role": "technician"},
            {"id": "s1", "name": "黄主任", "role": "supervisor"},
        ],
        "shifts": shifts,
        "households": households,
    }
    return Directory.build(Site.model_validate(doc))


SITES = [community(v) for v in range(3)]
DOORS = ["door-h1", "door-h2", "door-h3", "door-h4"]
CAMERAS = ["cam-h1", "cam-h3"]
DEVICES = [*DOORS, *CAMERAS, "therm-h1", "therm-h2"]
HOUSEHOLDS = ["h1", "h2", "h3", "h4"]


def ref(dev_id: str) -> DeviceRef:
    if dev_id == "door-h1":
        return DeviceRef(Protocol.ZIGBEE2MQTT, "h1_d")
    return DeviceRef(Protocol.MQTT if dev_id.startswith("cam") else Protocol.NATIVE, dev_id)


def event(kind: str, dev_id: str, flag: bool, number: int) -> Event | None:
    """One report of a device, or None when the device cannot say it."""
    r = ref(dev_id)
    battery = number if number <= 100 else None
    if kind == "door" and dev_id in DOORS:
        return DoorEvent(device=r, open=flag, battery=battery)
    if kind == "status":
        return StatusEvent(device=r, online=flag)
    if kind == "beat":
        return HeartbeatEvent(device=r, battery=battery, tamper=flag if number % 7 == 0 else None)
    if kind == "frames" and dev_id in CAMERAS:
        return FrameEvent(device=r, size=1, width=1, height=1, frames=int(flag), fault="dark")
    if kind == "motion" and dev_id in CAMERAS:
        return MotionEvent(device=r, active=flag)
    if kind == "temp" and dev_id.startswith("therm"):
        return TemperatureEvent(device=r, celsius=36.0 + number % 30 / 10)
    return None


# Seconds: the policy's intervals, a hair either side of them, and long silences.
WAITS = [1e-6, 0.5, 1, 2, 19, 20, 21, 29, 30, 31, 59, 60, 61, 89, 90, 119, 120, 121, 400, 1900]

steps = st.one_of(
    st.tuples(st.just("wait"), st.sampled_from(WAITS)),
    st.tuples(
        st.sampled_from(["door", "door", "door", "status", "beat", "frames", "motion", "temp"]),
        st.sampled_from(DEVICES),
        st.booleans(),
        st.integers(0, 130),
        st.sampled_from([0, 0, 0, 0.5, 3, 40]),  # how late it arrives, in seconds
    ),
    st.tuples(st.just("tick")),
    st.tuples(st.just("tick")),
    st.tuples(st.just("tick")),
    st.tuples(st.sampled_from(["commit", "commit", "commit", "fail"])),
    st.tuples(st.sampled_from(["prereport", "release"]), st.sampled_from(HOUSEHOLDS)),
    st.tuples(st.just("reload"), st.integers(0, 2)),
)


def same_state(a: Watch, b: Watch) -> None:
    assert dict(a.doors) == dict(b.doors)
    assert dict(a.health) == dict(b.health)
    assert dict(a.cameras) == dict(b.cameras)
    assert dict(a.readings) == dict(b.readings)
    assert dict(a.care) == dict(b.care)
    assert a.coverage == b.coverage
    assert (a.last_tick, a.last_tick_before) == (b.last_tick, b.last_tick_before)
    assert sorted(map(repr, a.marks)) == sorted(map(repr, b.marks))


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(steps, min_size=1, max_size=80))
# A reload after the step's first tick: the next tick still looks at everything.
@example([("tick",), ("reload", 1), ("commit",), ("tick",)])
# A failed tick forgets no deadline: the left-open door is raised by the next one.
@example(
    [("door", "door-h2", True, 100, 0), ("commit",), ("wait", 400)]
    + [("wait", 120)] * 3
    + [("tick",), ("fail",), ("tick",), ("commit",), ("tick",)]
)
def test_the_deadline_tick_decides_what_the_walk_decided(story):
    """Same story, same decisions (per step, as a multiset), same state, commit or failure."""
    d = SITES[0]
    now = START
    walk = WalkingWatch(d, START)
    fast = Watch(d, START)
    staged: list[str] = []  # what the current step did
    ticked = now
    for step in story:
        what = step[0]
        if what == "wait":
            now += timedelta(seconds=step[1])
            continue
        staged.append(what)
        if what == "tick":
            ticked = now
            expected, got = walk.tick(now), fast.tick(now)
            assert Counter(got) == Counter(expected), now
        elif what in ("commit", "fail"):
            for w in (walk, fast):
                w.install() if what == "commit" else w.discard()
            if what == "commit" and set(staged[:-1]) == {"tick"}:
                # A committed step of ticks only: nothing it left is due at once, nobody is
                # visited again and again for nothing. (A failed one leaves due what it did.)
                for lane in fast._schedule.lanes:
                    assert all(lane.index.get(k) > ticked for k in lane.index)  # type: ignore[operator]
            staged = []
        elif what == "reload":
            d = SITES[step[1]]
            walk.reindex(d, now)
            fast.reindex(d, now)
        elif what in ("prereport", "release"):
            hh = d.households.get(step[1])
            if hh is None or hh.isolation is None:
                continue
            for w in (walk, fast):
                if what == "release":
                    w.release(hh.id, hh.isolation.start, now)
                else:
                    opening = care.Opening(now, now + timedelta(minutes=2), "prereport", "garbage")
                    w.add_window(hh.id, opening, now)
        else:
            kind, dev_id, flag, number, late = step
            e = event(kind, dev_id, flag, number)
            binding = d.device(dev_id)
            if e is None or binding is None:
                continue
            t = now - timedelta(seconds=late)
            expected_out = walk.on_event(binding, e, t, now)
            got_out = fast.on_event(binding, e, t, now)
            assert got_out == expected_out
        same_state(walk, fast)
