"""Event data typed per kind: built from decoded events, stored as the JSON the log always held,
read back typed (old rows too), and carried on the live stream in the same wire form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from devices.events import (
    CameraFault,
    CameraTamperEvent,
    DeviceRef,
    DoorEvent,
    FrameEvent,
    HeartbeatEvent,
    MotionEvent,
    Protocol,
    StatusEvent,
    TemperatureEvent,
)
from gateway.bus import AlertChanged, Bus, EventStored
from gateway.store.event_data import (
    DoorData,
    EventData,
    FrameData,
    StatusData,
    TemperatureData,
    event_data,
    event_data_from_json,
)
from tests.samples import breach_alert

DOOR = DeviceRef(Protocol.NATIVE, "door-h1")
AT = datetime(2026, 11, 23, 3, 12, 5, tzinfo=timezone(timedelta(hours=8)))

# Rows as the log held them before the data was typed (written by the pipeline's old builder).
OLD_DOOR_ROW = {"open": True, "battery": 88, "tamper": False, "device_ts": AT.isoformat()}
OLD_READING_ROW = {"celsius": 36.6, "body_site": "forehead", "battery": 70}
OLD_FRAME_ROW = {"bytes": 2048}
OLD_STATUS_ROW = {"online": False}


def test_each_kind_is_built_and_stored_as_the_json_the_log_always_held():
    """Door, reading, status, frame and heartbeat: only what the device said, same keys."""
    door = event_data(DoorEvent(device=DOOR, open=True, battery=88, tamper=False, ts=AT))
    assert door == DoorData(open=True, battery=88, tamper=False, device_ts=AT)
    assert door.to_json() == OLD_DOOR_ROW
    reading = event_data(
        TemperatureEvent(device=DOOR, celsius=36.6, body_site="forehead", battery=70)
    )
    assert reading.to_json() == OLD_READING_ROW
    summary = FrameEvent(device=DOOR, size=2048, width=640, height=480, frames=12, bad=1)
    assert event_data(summary).to_json() == {
        **OLD_FRAME_ROW,
        "width": 640,
        "height": 480,
        "frames": 12,
        "bad": 1,
    }
    assert event_data(StatusEvent(device=DOOR, online=False)).to_json() == OLD_STATUS_ROW
    assert event_data(HeartbeatEvent(device=DOOR, battery=5)) == EventData(battery=5)


def test_old_rows_read_back_typed_and_a_misfit_row_reads_as_common_data():
    """Stored JSON reads back per kind; a reading without celsius is no reading, not a crash."""
    assert event_data_from_json("door", OLD_DOOR_ROW) == DoorData(
        open=True, battery=88, tamper=False, device_ts=AT
    )
    assert event_data_from_json("temperature", OLD_READING_ROW) == TemperatureData(
        celsius=36.6, body_site="forehead", battery=70
    )
    assert event_data_from_json("frame", OLD_FRAME_ROW) == FrameData(size=2048)
    assert event_data_from_json("status", OLD_STATUS_ROW) == StatusData(online=False)
    odd = event_data_from_json("temperature", {"celsius": "hot", "battery": True})
    assert odd == EventData()
    assert not isinstance(odd, TemperatureData)


def test_stream_items_keep_the_wire_json_and_reach_subscribers():
    """An event and an alert change go out as the {"kind": ...} JSON the console reads."""
    bus = Bus()
    alert = breach_alert(AT.astimezone(UTC))
    with bus.subscribe() as queue:
        bus.publish(EventStored("h1", "door-h1", "door", "change/breach", DoorData(open=True), AT))
        bus.publish(AlertChanged(alert, {"id": alert.id, "status": "open"}))
        event, changed = queue.get_nowait(), queue.get_nowait()
    assert event.to_json() == {
        "kind": "event",
        "household": "h1",
        "device": "door-h1",
        "event": "door",
        "report": "change/breach",
        "data": {"open": True},
        "ts": "2026-11-23T03:12:05.000+08:00",
    }
    assert changed.household == "h1"
    assert changed.to_json() == {
        "kind": "alert",
        "household": "h1",
        "alert": {"id": alert.id, "status": "open"},
    }


def test_camera_events_round_trip_through_the_log() -> None:
    cam = DeviceRef(Protocol.MQTT, "cam-h1")
    motion = event_data(MotionEvent(device=cam, active=True, score=0.12, label="person"))
    assert event_data_from_json("motion", motion.to_json()) == motion
    frigate = event_data(MotionEvent(device=cam, active=False, ref="1.5-abc", zones=("door",)))
    assert event_data_from_json("motion", frigate.to_json()) == frigate
    covered = event_data(CameraTamperEvent(device=cam, tamper=True, fault=CameraFault.COVERED))
    assert covered.to_json() == {"tamper": True, "fault": "covered"}
    assert event_data_from_json("tamper", covered.to_json()) == covered
