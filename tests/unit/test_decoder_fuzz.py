"""Every decoder, fed random bytes, JSON, topics and poison, answers within the store's limits."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import PayloadError, ble, frigate, hts, native, rflink, safe_json, zigbee2mqtt
from devices.events import (
    MAX_ADDRESS,
    MAX_KEY,
    MAX_REASON,
    SEQ_LIMIT,
    Decoded,
    Event,
    Ignored,
    Rejected,
    TemperatureEvent,
)
from devices.router import Router

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
# Keys the decoders look at, so that random objects reach past the first check.
KNOWN_KEYS = st.sampled_from(
    [
        "type", "open", "celsius", "ts", "seq", "battery", "tamper", "contact", "state",
        "id", "tempc", "tempf", "batt", "batt_low", "model_id", "hts", "rssi",
        "camera", "label", "current_zones", "has_snapshot", "false_positive", "frame_time",
        "end_time", "camera_fps",
    ]
)  # fmt: skip
TYPES = st.sampled_from(["door", "temperature", "heartbeat", "bogus", "new", "update", "end"])
OBJECTS = st.dictionaries(KNOWN_KEYS, JSON_VALUES | TYPES, max_size=6)
MAC_LIKE = st.sampled_from(["A4C138000001", "a4:c1:38:00:00:01", "kitchen", "", "A4C1380000"])
# Frigate's shapes: events whose ``after`` is mostly right, stats with random cameras.
FRIGATE_NAMES = st.sampled_from(["front_door", "1700000000.1-abc123", "door", "", "c" * 200])
FRIGATE_AFTER = st.fixed_dictionaries(
    {"camera": FRIGATE_NAMES, "id": FRIGATE_NAMES},
    optional={
        key: JSON_VALUES | FRIGATE_NAMES | st.lists(FRIGATE_NAMES, max_size=3)
        for key in ("label", "current_zones", "has_snapshot", "false_positive", "frame_time")
    }
    | {"end_time": st.floats(-1e12, 1e12) | JSON_VALUES},
)
NESTED = st.builds(
    lambda kind, after, cameras: {"type": kind, "after": after, "cameras": cameras},
    st.sampled_from(["new", "update", "end"]) | JSON_VALUES,
    FRIGATE_AFTER | OBJECTS | JSON_VALUES,
    st.dictionaries(
        FRIGATE_NAMES | st.text(max_size=8),
        st.fixed_dictionaries({"camera_fps": st.floats(-1, 30) | JSON_VALUES}) | JSON_VALUES,
        max_size=3,
    ),
)


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def _nest(depth: int, closed: bool) -> bytes:
    return b"[" * depth + (b"]" * depth if closed else b"")


# Poison: what a broken or hostile device can publish, placed where the decoders look.
POISON_VALUES = (
    st.builds(_nest, st.integers(60, 5000), st.booleans())
    | st.integers(38, 6000).map(lambda n: b"9" * n)  # around the 40-digit and 4,300-digit limits
    | st.integers(SEQ_LIMIT - 2, SEQ_LIMIT + 2).map(lambda n: str(n).encode())
    | st.sampled_from([b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999"])
    | st.datetimes(timezones=st.timezones()).map(lambda t: json.dumps(t.isoformat()).encode())
)
POISONED = st.builds(
    lambda key, value, kind: b'{"type": "%s", "state": "online", "%s": %s}' % (kind, key, value),
    KNOWN_KEYS.map(str.encode),
    POISON_VALUES,
    TYPES.map(str.encode),
)
HUGE = st.integers(60 * 1024, 72 * 1024).map(
    lambda n: b'{"type": "heartbeat", "contact": true, "pad": "' + b"x" * n + b'"}'
)
PAYLOADS = (
    st.binary(max_size=64)
    | JSON_VALUES.map(_json)
    | OBJECTS.map(_json)
    | NESTED.map(_json)
    | st.sampled_from([b"online", b"offline", b'{"state":"online"}', b"{", b"\xff"])
    | POISON_VALUES
    | POISONED
    | HUGE
)
SEGMENTS = st.text(alphabet=st.characters(blacklist_characters="/"), max_size=8)
LONG = st.integers(129, 700).map(lambda n: "a" * n)  # past the address and the topic limits
TOPICS = (
    st.text(max_size=40)
    | st.lists(SEGMENTS, min_size=1, max_size=6).map("/".join)
    | st.tuples(
        st.sampled_from(["isogate/dev", "zigbee2mqtt", "home/gw/BTtoMQTT", "home/gw", "frigate"]),
        st.lists(SEGMENTS | MAC_LIKE | LONG | st.sampled_from(["event", "status", "availability"])),
    ).map(lambda t: "/".join([t[0], *t[1]]))
    | st.tuples(
        st.sampled_from(["isogate/dev/{}/event", "zigbee2mqtt/{}", "zigbee2mqtt/{}/availability"]),
        LONG,
    ).map(lambda t: t[0].format(t[1]))
    | st.sampled_from(["frigate/events", "frigate/stats"])
)
TS_MIN, TS_MAX = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)

TopicDecoder = Callable[[str, str, bytes], Decoded]
DECODERS: dict[str, tuple[TopicDecoder, str]] = {
    "native": (native.decode, "isogate"),
    "zigbee2mqtt": (zigbee2mqtt.decode, "zigbee2mqtt"),
    "ble": (ble.decode, "home"),
    "frigate": (frigate.decode, "frigate"),
}


def _assert_decoded(result: object) -> None:
    """Events whose every field the store can hold, or Rejected/Ignored."""
    if isinstance(result, Rejected):
        if result.device is not None:
            assert len(result.device.address) <= MAX_ADDRESS
            assert len(result.device.key()) <= MAX_KEY
        return
    if isinstance(result, Ignored):
        return
    assert isinstance(result, list)
    for event in result:
        assert isinstance(event, Event)
        assert len(event.device.address) <= MAX_ADDRESS
        assert len(event.device.key()) <= MAX_KEY
        assert event.seq is None or 0 <= event.seq < SEQ_LIMIT
        assert event.battery is None or 0 <= event.battery <= 100
        assert event.ts is None or TS_MIN <= event.ts <= TS_MAX
        if isinstance(event, TemperatureEvent):
            assert math.isfinite(event.celsius)


@pytest.mark.parametrize("name", list(DECODERS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=TOPICS, payload=PAYLOADS)
def test_topic_decoders_answer_any_message(name: str, topic: str, payload: bytes) -> None:
    """Every topic decoder answers anything, poison included, within the limits."""
    decode, base = DECODERS[name]
    _assert_decoded(decode(base, topic, payload))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    topic=st.sampled_from(["frigate/events", "frigate/stats"]),
    payload=NESTED.map(_json) | POISONED,
)
def test_frigate_decoder_answers_frigate_shaped_messages(topic: str, payload: bytes) -> None:
    """Events and stats that are nearly right, wrong in one field, answer within the limits."""
    _assert_decoded(frigate.decode("frigate", topic, payload))


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    topic=TOPICS | st.integers(500, 700).map(lambda n: "isogate/dev/" + "d" * n), payload=PAYLOADS
)
def test_router_answers_any_message_within_the_limits(topic: str, payload: bytes) -> None:
    """The router never raises; its reasons fit the reason column; oversize input is refused."""
    result = Router().decode(topic, payload)
    _assert_decoded(result)
    if isinstance(result, Rejected | Ignored):
        assert len(result.reason) <= MAX_REASON
    if len(topic) > 512 or len(payload) > 65536:
        assert isinstance(result, Rejected)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=PAYLOADS)
def test_safe_json_raises_only_payload_error(payload: bytes) -> None:
    """Whatever the bytes, the safe parser returns JSON without NaN or infinities, or refuses."""
    try:
        value = safe_json(payload)
    except PayloadError:
        return
    json.dumps(value, allow_nan=False)  # raises ValueError on NaN or an infinity


LINE_PARTS = st.sampled_from(
    ["20", "11", "10", "2D", "EV1527", "ID=0a1b2c", "SWITCH=01", "CMD=ON", "CMD=OFF", "BAT=LOW", ""]
)
LINES = (
    st.text(max_size=60)
    | st.lists(LINE_PARTS | st.text(max_size=6), max_size=7).map(
        lambda parts: ";".join(parts) + ";"
    )
    | st.integers(100, 1000).map(lambda n: f"20;2D;EV1527;ID={'a' * n};SWITCH=01;CMD=ON;")
)
CODES = st.dictionaries(
    st.sampled_from(["01", "1", "0a", "ON", "OFF", "01/ON", "07", "x/y", ""]),
    st.sampled_from([s.value for s in rflink.RFSignal]),
    max_size=4,
)


@settings(max_examples=400, deadline=None)
@given(line=LINES, open_cmd=st.sampled_from(["ON", "OFF", "UP", "x"]), codes=CODES)
def test_rflink_parser_and_interpretation_answer_any_line(
    line: str, open_cmd: str, codes: dict[str, str]
) -> None:
    """Any text parses to a packet, Ignored or Rejected; any packet interprets without raising."""
    parsed = rflink.parse_line(line)
    if isinstance(parsed, rflink.RFLinkPacket):
        assert len(parsed.address) <= MAX_ADDRESS
        _assert_decoded(rflink.interpret(parsed, open_cmd=open_cmd, codes=codes))
    else:
        assert isinstance(parsed, Rejected | Ignored)


@settings(max_examples=400, deadline=None)
@given(
    raw=st.binary(max_size=20)
    | st.tuples(st.integers(0, 255), st.binary(min_size=4, max_size=13)).map(
        lambda t: bytes([t[0]]) + t[1]
    )
)
def test_hts_decoder_raises_only_payload_error(raw: bytes) -> None:
    """Random measurement bytes decode or raise PayloadError, nothing else."""
    try:
        measurement = hts.decode_measurement(raw)
    except PayloadError:
        return
    assert isinstance(measurement.celsius, float)


@settings(max_examples=200, deadline=None)
@given(value=JSON_VALUES | st.binary(max_size=16).map(bytes.hex))
def test_native_hts_field_raises_only_payload_error(value: object) -> None:
    """Whatever JSON sits in ``hts``, the helper returns a reading or raises PayloadError."""
    try:
        celsius, _, _ = hts.temperature_from_hts(value)
    except PayloadError:
        return
    assert 30.0 <= celsius <= 45.0
