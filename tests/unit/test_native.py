"""isogate's native device protocol."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devices import native
from devices.events import (
    DoorEvent,
    HeartbeatEvent,
    Ignored,
    Rejected,
    StatusEvent,
    TemperatureEvent,
)

NATIVE_DOOR_OPEN = (
    b'{"type": "door", "open": true, "ts": 1763860000.5, "seq": 17, "battery": 88, "tamper": false}'
)
NATIVE_TEMP_ISO = (
    b'{"type": "temperature", "celsius": 36.6, "ts": "2026-11-23T07:31:00+08:00", "battery": 70}'
)
NATIVE_HEARTBEAT = b'{"type": "heartbeat", "battery": 80}'
NATIVE_TEMP_TOO_HOT = b'{"type": "temperature", "celsius": 47.0}'
NATIVE_TS_NO_OFFSET = b'{"type": "door", "open": true, "ts": "2026-11-23T07:31:00"}'


def decode(topic: str, payload: bytes):
    return native.decode("isogate", topic, payload)


def test_door_event_with_epoch_ts_and_seq():
    """SPEC §2.1's door example decodes field for field."""
    [e] = decode("isogate/dev/door-h1/event", NATIVE_DOOR_OPEN)
    assert isinstance(e, DoorEvent)
    assert (e.open, e.seq, e.battery, e.tamper) == (True, 17, 88, False)
    assert e.ts == datetime.fromtimestamp(1763860000.5, UTC)


def test_temperature_with_iso_ts_keeps_its_offset():
    """An ISO time with +08:00 is the same instant."""
    [e] = decode("isogate/dev/therm-r1/event", NATIVE_TEMP_ISO)
    assert isinstance(e, TemperatureEvent)
    assert e.celsius == 36.6
    assert e.ts == datetime(2026, 11, 22, 23, 31, tzinfo=UTC)
    assert e.ts.utcoffset() == timedelta(hours=8)


def test_heartbeat_without_ts_uses_receipt_time():
    """No ts → None; the pipeline stamps the time of receipt."""
    [e] = decode("isogate/dev/door-h1/event", NATIVE_HEARTBEAT)
    assert isinstance(e, HeartbeatEvent) and e.ts is None and e.battery == 80


def test_status_online_offline():
    """The retained status topic is availability."""
    [e] = decode("isogate/dev/door-h1/status", b"offline")
    assert isinstance(e, StatusEvent) and e.online is False
    assert isinstance(decode("isogate/dev/door-h1/status", b"sleepy"), Rejected)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (NATIVE_TEMP_TOO_HOT, "outside 30–45"),
        (NATIVE_TS_NO_OFFSET, "no UTC offset"),
        (b'{"type": "door"}', "without open"),
        (b'{"type": "door", "open": true, "seq": -1}', "seq"),
        (b'{"type": "temperature", "celsius": "36.5"}', "number"),
        (b'{"type": "temperature", "celsius": NaN}', "number"),
        (b'{"type": 7}', "unknown event type"),
        (b"", "not JSON"),
    ],
)
def test_bad_native_payloads_say_why(payload: bytes, reason: str):
    """Each kind of bad input is a Rejected naming the problem."""
    result = decode("isogate/dev/door-h1/event", payload)
    assert isinstance(result, Rejected)
    assert reason in result.reason


def test_foreign_subtopics_are_ignored_and_bad_topics_rejected():
    """isogate/dev/x/config is not ours to read; a short topic is an error."""
    assert isinstance(decode("isogate/dev/door-h1/config", b"{}"), Ignored)
    assert isinstance(decode("isogate/dev/event", b"{}"), Rejected)
