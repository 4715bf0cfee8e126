"""Frigate's MQTT events and stats decoded from payloads as Frigate 0.14 publishes them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from devices import frigate
from devices.events import (
    DeviceRef,
    HeartbeatEvent,
    Ignored,
    MotionEvent,
    Protocol,
    Rejected,
    StatusEvent,
)
from devices.router import Router

FRONT_DOOR = DeviceRef(Protocol.FRIGATE, "front_door")


def _obj(**over: Any) -> dict[str, Any]:
    """One tracked object (``before``/``after``) as Frigate 0.14 writes it, fields in its order."""
    base: dict[str, Any] = {
        "id": "1732341600.482113-k3v9qa",
        "camera": "front_door",
        "frame_time": 1732341601.284551,
        "snapshot": {
            "frame_time": 1732341601.284551,
            "box": [212, 96, 318, 402],
            "area": 32436,
            "region": [105, 0, 425, 320],
            "score": 0.83203125,
            "attributes": [],
        },
        "label": "person",
        "sub_label": None,
        "top_score": 0.83203125,
        "false_positive": False,
        "start_time": 1732341600.482113,
        "end_time": None,
        "score": 0.83203125,
        "box": [212, 96, 318, 402],
        "area": 32436,
        "ratio": 0.346405,
        "region": [105, 0, 425, 320],
        "active": True,
        "stationary": False,
        "motionless_count": 0,
        "position_changes": 0,
        "current_zones": [],
        "entered_zones": [],
        "has_clip": False,
        "has_snapshot": True,
        "attributes": {},
        "current_attributes": [],
    }
    return base | over


def _event(kind: str, before: dict[str, Any], after: dict[str, Any]) -> bytes:
    return json.dumps({"type": kind, "before": before, "after": after}).encode()


# A person is confirmed (before: still a false positive) on the landing, not yet in a zone.
FRIGATE_NEW_PERSON = _event(
    "new", _obj(false_positive=True, top_score=0, has_snapshot=False, snapshot=None), _obj()
)
# The same person steps into the `door` zone: an update with the zone change.
FRIGATE_UPDATE_ENTERS_DOOR = _event(
    "update",
    _obj(),
    _obj(
        frame_time=1732341602.91,
        current_zones=["door"],
        entered_zones=["door"],
        position_changes=1,
    ),
)
# Gone: the end carries end_time; current_zones is where it was last seen.
FRIGATE_END = _event(
    "end",
    _obj(frame_time=1732341606.1, current_zones=["door"], entered_zones=["door"]),
    _obj(
        frame_time=1732341606.1,
        end_time=1732341607.35,
        current_zones=["door"],
        entered_zones=["door"],
        has_clip=True,
    ),
)
# An older Frigate (or a retraction): the object is marked a false positive in `after`.
FRIGATE_UPDATE_FALSE_POSITIVE = _event(
    "update", _obj(), _obj(false_positive=True, current_zones=["door"])
)
# A camera whose clock was never set (the frame time is in 1970).
FRIGATE_NEW_CLOCK_UNSET = _event("new", _obj(false_positive=True), _obj(frame_time=3600.25))
# frigate/stats (0.14): front_door streams; back_yard's ffmpeg died (camera_fps 0).
FRIGATE_STATS = json.dumps(
    {
        "cameras": {
            "front_door": {
                "camera_fps": 5.1,
                "process_fps": 5.1,
                "skipped_fps": 0.0,
                "detection_fps": 0.4,
                "detection_enabled": 1,
                "pid": 412,
                "capture_pid": 436,
                "ffmpeg_pid": 448,
                "audio_rms": 0.0,
                "audio_dBFS": 0.0,
            },
            "back_yard": {"camera_fps": 0.0, "process_fps": 0.0, "skipped_fps": 0.0, "pid": 413},
        },
        "detectors": {"cpu": {"inference_speed": 92.4, "detection_start": 0.0, "pid": 398}},
        "detection_fps": 0.4,
        "service": {"uptime": 8612, "version": "0.14.1-f4f3cfa", "last_updated": 1732341600},
    }
).encode()
# Frigate 0.12: the camera objects at the top level.
FRIGATE_STATS_0_12 = b'{"front_door": {"camera_fps": 5.0, "process_fps": 5.0}, "service": {"uptime": 40, "version": "0.12.1-367d724"}}'  # noqa: E501


def decode(topic: str, payload: bytes) -> object:
    return frigate.decode("frigate", topic, payload)


def test_new_person_is_motion_with_frigates_id_and_snapshot():
    """A new tracked person: active motion on the camera, with Frigate's facts passed through."""
    [event] = decode("frigate/events", FRIGATE_NEW_PERSON)
    assert isinstance(event, MotionEvent)
    assert event.device == FRONT_DOOR
    assert event.active is True
    assert event.ref == "1732341600.482113-k3v9qa"
    assert event.label == "person"
    assert event.zones == ()
    assert event.snapshot is True
    assert event.ts == datetime.fromtimestamp(1732341601.284551, UTC)


def test_update_entering_the_door_zone_carries_the_zone():
    """An update stepping into `door` is active motion in zone door, timed at its frame."""
    [event] = decode("frigate/events", FRIGATE_UPDATE_ENTERS_DOOR)
    assert isinstance(event, MotionEvent)
    assert (event.active, event.zones) == (True, ("door",))
    assert event.ts == datetime.fromtimestamp(1732341602.91, UTC)


def test_end_is_motion_ended_at_its_end_time():
    """The end message ends the motion, timed at end_time."""
    [event] = decode("frigate/events", FRIGATE_END)
    assert isinstance(event, MotionEvent)
    assert event.active is False
    assert event.ref == "1732341600.482113-k3v9qa"
    assert event.ts == datetime.fromtimestamp(1732341607.35, UTC)


def test_a_false_positive_is_nobody_at_the_door():
    """An update whose object is a false positive is ignored, not motion."""
    result = decode("frigate/events", FRIGATE_UPDATE_FALSE_POSITIVE)
    assert isinstance(result, Ignored)
    assert "false positive" in result.reason


def test_an_unset_camera_clock_keeps_the_event_without_its_time():
    """A frame time in 1970 is left out and flagged; the motion still counts."""
    [event] = decode("frigate/events", FRIGATE_NEW_CLOCK_UNSET)
    assert isinstance(event, MotionEvent)
    assert event.active is True
    assert event.ts is None
    assert event.clock_fault is not None and "plausible" in event.clock_fault


def test_stats_say_which_cameras_receive_frames():
    """camera_fps > 0 is a heartbeat; 0 is the camera offline."""
    events = decode("frigate/stats", FRIGATE_STATS)
    assert isinstance(events, list)
    by_camera = {e.device.address: e for e in events}
    assert isinstance(by_camera["front_door"], HeartbeatEvent)
    back = by_camera["back_yard"]
    assert isinstance(back, StatusEvent) and back.online is False
    assert all(e.ts == datetime.fromtimestamp(1732341600, UTC) for e in events)


def test_stats_of_frigate_0_12_are_read_too():
    """Before 0.13 the cameras sat at the top level of the stats."""
    [event] = decode("frigate/stats", FRIGATE_STATS_0_12)
    assert isinstance(event, HeartbeatEvent)
    assert event.device == FRONT_DOOR


def test_one_broken_camera_entry_does_not_hide_the_others():
    """A camera without camera_fps is skipped; one with none readable at all is rejected."""
    mixed = b'{"cameras": {"front_door": {"camera_fps": 4.9}, "side": {"pid": 3}}}'
    [event] = decode("frigate/stats", mixed)
    assert event.device == FRONT_DOOR
    broken = decode("frigate/stats", b'{"cameras": {"side": {"camera_fps": "fast"}}}')
    assert isinstance(broken, Rejected)
    assert "camera_fps must be a number" in broken.reason


def test_junk_events_are_rejected_with_their_reason():
    """Not JSON, no after, no camera: rejected, naming what was wrong."""
    cases = {
        b"\xff\xfe": "not UTF-8",
        b"{": "not JSON",
        b"[]": "expected an object",
        b'{"type": "new"}': "after must be an object",
        b'{"type": "new", "after": {"id": "1.2-ab"}}': "after.camera",
        b'{"type": "new", "after": {"camera": "", "id": "1.2-ab"}}': "after.camera",
    }
    for payload, reason in cases.items():
        result = decode("frigate/events", payload)
        assert isinstance(result, Rejected), payload
        assert reason in result.reason, (payload, result.reason)
        assert result.device is None


def test_wrong_fields_are_rejected_naming_the_camera():
    """Once the camera is known, a bad field is rejected with the camera as sender."""
    cases = {
        _event("started", _obj(), _obj()): "type must be new, update or end",
        _event("new", _obj(), _obj(id=None)): "after.id",
        _event("new", _obj(), _obj(current_zones="door")): "current_zones must be a list",
        _event("new", _obj(), _obj(current_zones=["door", 7])): "zone name",
        _event("new", _obj(), _obj(has_snapshot="yes")): "has_snapshot",
        _event("new", _obj(), _obj(label=["person"])): "after.label",
        _event("new", _obj(), _obj(id="x" * 65)): "over 64",
        _event("end", _obj(), _obj(end_time="soon")): "ISO 8601",
    }
    for payload, reason in cases.items():
        result = decode("frigate/events", payload)
        assert isinstance(result, Rejected), payload
        assert reason in result.reason, (payload, result.reason)
        assert result.device == FRONT_DOOR


def test_other_frigate_topics_are_ignored_and_foreign_ones_rejected():
    """available, reviews and per-camera counts are ignored; a topic outside the base is refused."""
    for topic in ("frigate/available", "frigate/reviews", "frigate/front_door/person"):
        assert isinstance(decode(topic, b"online"), Ignored), topic
    assert isinstance(decode("frigatex/events", FRIGATE_NEW_PERSON), Rejected)
    assert isinstance(decode("frigate/", b""), Rejected)


def test_the_router_subscribes_to_and_dispatches_frigate():
    """The router listens to <base>/events and <base>/stats and hands them to this decoder."""
    router = Router(frigate_base="nvr1")
    assert {"nvr1/events", "nvr1/stats"} <= set(router.subscriptions())
    [event] = router.decode("nvr1/events", FRIGATE_END)
    assert isinstance(event, MotionEvent) and event.active is False
    assert isinstance(router.decode("nvr1/available", b"online"), Ignored)
