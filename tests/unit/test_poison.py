"""Messages that once stopped ingest for every household: each is now one Rejected, with its reason.

Each constant is a payload (or topic) that a broken or hostile device can publish; the comment
says what it used to do.
"""

from __future__ import annotations

import pytest

from devices import PayloadError, safe_json
from devices.events import (
    MAX_ADDRESS,
    MAX_REASON,
    DeviceRef,
    DoorEvent,
    HeartbeatEvent,
    Protocol,
    Rejected,
)
from devices.router import Router

ROUTER = Router()

# An integer of 5,000 digits: json.loads raised ValueError (Python's 4,300-digit limit).
NATIVE_HUGE_INT = b'{"type": "heartbeat", "seq": ' + b"9" * 5000 + b"}"
# seq = 2^63: decoded fine, then the store's BIGINT refused the whole batch.
NATIVE_SEQ_2_63 = b'{"type": "heartbeat", "seq": 9223372036854775808}'
# The largest seq a BIGINT holds: still a good event.
NATIVE_SEQ_2_63_MINUS_1 = b'{"type": "heartbeat", "seq": 9223372036854775807}'
# NaN is what Python's json writes for float('nan'); PostgreSQL's JSON refuses it.
NATIVE_NAN_CELSIUS = b'{"type": "temperature", "celsius": NaN}'
# -Infinity as a battery level.
NATIVE_MINUS_INFINITY_BATTERY = b'{"type": "heartbeat", "battery": -Infinity}'
# 1e400 is parsed as inf by json.loads: an infinity without the word.
NATIVE_OVERFLOW_FLOAT = b'{"type": "temperature", "celsius": 1e400}'
# A device clock set to year 9999, in ISO form (the epoch form was already range-checked).
NATIVE_ISO_TS_YEAR_9999 = b'{"type": "heartbeat", "ts": "9999-12-31T23:59:59+00:00"}'
# A device clock never set, in ISO form.
NATIVE_ISO_TS_YEAR_1970 = b'{"type": "heartbeat", "ts": "1970-01-01T00:00:00+00:00"}'
# 5,000 nested arrays inside a field the decoder does not even read.
NATIVE_DEEP_NESTING = b'{"type": "heartbeat", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"
# Brackets inside a string are text, not nesting: a good event.
NATIVE_BRACKETS_IN_A_STRING = b'{"type": "heartbeat", "note": "\\"' + b"[" * 500 + b'"}'
# zigbee2mqtt availability had its own json.loads: RecursionError escaped the decoder.
Z2M_AVAILABILITY_DEEP_NESTING = b'{"state": ' + b"[" * 5000 + b"]" * 5000 + b"}"
# Not UTF-8 at all.
NATIVE_NOT_UTF8 = b'{"type": "heartbeat", "note": "\xff\xfe"}'
# A friendly name of 200 characters: longer than unknown_devices.address (128).
Z2M_LONG_NAME_TOPIC = "zigbee2mqtt/" + "a" * 200
# A topic of 600 characters: longer than events.topic (512).
NATIVE_LONG_TOPIC = "isogate/dev/" + "d" * 600 + "/event"
# A 70 KiB payload: no device sends one; the limit is 64 KiB.
NATIVE_70_KIB = b'{"type": "heartbeat", "pad": "' + b"x" * (70 * 1024) + b'"}'


def _rejected(topic: str, payload: bytes) -> Rejected:
    result = ROUTER.decode(topic, payload)
    assert isinstance(result, Rejected), result
    assert len(result.reason) <= MAX_REASON
    return result


def test_an_integer_of_5000_digits_is_rejected() -> None:
    """NATIVE_HUGE_INT is refused for its integer, not a ValueError out of the decoder."""
    result = _rejected("isogate/dev/d1/event", NATIVE_HUGE_INT)
    assert "integer of more than 4300 digits" in result.reason
    assert result.device == DeviceRef(Protocol.NATIVE, "d1")


def test_seq_of_2_63_is_rejected_and_2_63_minus_1_is_kept() -> None:
    """A seq the store's BIGINT cannot hold is refused; the largest it can hold is an event."""
    assert "2^63" in _rejected("isogate/dev/d1/event", NATIVE_SEQ_2_63).reason
    [event] = ROUTER.decode("isogate/dev/d1/event", NATIVE_SEQ_2_63_MINUS_1)
    assert isinstance(event, HeartbeatEvent) and event.seq == 2**63 - 1


@pytest.mark.parametrize(
    ("payload", "said"),
    [
        (NATIVE_NAN_CELSIUS, "NaN"),
        (NATIVE_MINUS_INFINITY_BATTERY, "-Infinity"),
        (NATIVE_OVERFLOW_FLOAT, "1e400 is out of range"),
    ],
)
def test_nan_infinity_and_overflowing_numbers_are_rejected(payload: bytes, said: str) -> None:
    """NaN, -Infinity and 1e400 never become a number of an event."""
    assert said in _rejected("isogate/dev/d1/event", payload).reason


@pytest.mark.parametrize("payload", [NATIVE_ISO_TS_YEAR_9999, NATIVE_ISO_TS_YEAR_1970])
def test_iso_times_outside_2000_to_2100_are_left_out_not_trusted(payload: bytes) -> None:
    """An ISO ts is range-checked like the epoch form: the event stays, its time does not."""
    [event] = ROUTER.decode("isogate/dev/d1/event", payload)
    assert event.ts is None
    assert event.clock_fault is not None and "2000–2100" in event.clock_fault


def test_a_door_opening_stamped_1970_is_still_an_opening() -> None:
    """A device whose clock reset to the epoch still reports its door: no time, a fault noted."""
    payload = b'{"type": "door", "open": true, "ts": 0}'
    [event] = ROUTER.decode("isogate/dev/d1/event", payload)
    assert isinstance(event, DoorEvent) and event.open and event.ts is None
    assert event.clock_fault is not None


def test_deep_nesting_in_a_native_event_is_rejected() -> None:
    """NATIVE_DEEP_NESTING is refused before json recurses."""
    assert "nested deeper than 64" in _rejected("isogate/dev/d1/event", NATIVE_DEEP_NESTING).reason


def test_brackets_inside_a_string_are_not_nesting() -> None:
    """A string full of brackets (after an escaped quote) is a good heartbeat."""
    [event] = ROUTER.decode("isogate/dev/d1/event", NATIVE_BRACKETS_IN_A_STRING)
    assert isinstance(event, HeartbeatEvent)


def test_deep_nesting_on_zigbee2mqtt_availability_is_rejected() -> None:
    """Z2M_AVAILABILITY_DEEP_NESTING goes through the safe parser, naming the device."""
    result = _rejected("zigbee2mqtt/h1_door/availability", Z2M_AVAILABILITY_DEEP_NESTING)
    assert "nested deeper than 64" in result.reason
    assert result.device == DeviceRef(Protocol.ZIGBEE2MQTT, "h1_door")


def test_bytes_that_are_not_utf8_are_rejected() -> None:
    """NATIVE_NOT_UTF8 says which byte is wrong."""
    assert "not UTF-8 text (byte 31)" in _rejected("isogate/dev/d1/event", NATIVE_NOT_UTF8).reason


def test_an_address_longer_than_the_store_holds_is_rejected_without_a_device() -> None:
    """A 200-character friendly name is refused, and no device of that name is recorded."""
    result = _rejected(Z2M_LONG_NAME_TOPIC, b'{"contact": true}')
    assert f"{MAX_ADDRESS}-character limit" in result.reason
    assert result.device is None


def test_a_topic_longer_than_512_characters_is_rejected() -> None:
    """NATIVE_LONG_TOPIC is refused by the router before any decoder reads it."""
    result = _rejected(NATIVE_LONG_TOPIC, b'{"type": "heartbeat"}')
    assert result.reason == "topic of 618 characters is over the 512-character limit"


def test_a_payload_over_the_limit_is_rejected_unread() -> None:
    """NATIVE_70_KIB is refused with its size; a router with a higher limit decodes it."""
    result = _rejected("isogate/dev/d1/event", NATIVE_70_KIB)
    assert result.reason == f"payload of {len(NATIVE_70_KIB)} bytes is over the 65536-byte limit"
    [event] = Router(max_payload=128 * 1024).decode("isogate/dev/d1/event", NATIVE_70_KIB)
    assert isinstance(event, HeartbeatEvent)


def test_a_decoder_that_raises_becomes_a_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever a decoder raises, the router answers "decoder fault", clipped to 512 characters."""

    def broken(base: str, topic: str, payload: bytes) -> object:
        raise KeyError("x" * 1000)

    monkeypatch.setattr("devices.native.decode", broken)
    result = _rejected("isogate/dev/d1/event", b"{}")
    assert result.reason.startswith("decoder fault: KeyError: 'xxx")
    assert len(result.reason) == MAX_REASON


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xc3\x28", "not UTF-8"),
        (b"{", "not JSON"),
        (b"1" * 4301, "integer of more than 4300 digits"),
        (b"[NaN]", "NaN"),
        (b'{"a": Infinity}', "Infinity"),
        (b"[" * 65 + b"]" * 65, "nested deeper than 64"),
    ],
)
def test_safe_json_turns_every_failure_into_payload_error(payload: bytes, reason: str) -> None:
    """The gateway's other JSON reader gets one exception type with the reason in it."""
    with pytest.raises(PayloadError, match=reason):
        safe_json(payload)


def test_safe_json_takes_64_levels_and_40_digit_integers() -> None:
    """The limits are limits, not off by one."""
    assert safe_json(b"[" * 64 + b"]" * 64) is not None
    assert safe_json(b"-" + b"9" * 40) == -int("9" * 40)
