"""Every decoder, fed random bytes, JSON and topics, answers and never raises."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices import ble, hts, native, rflink, zigbee2mqtt
from devices._common import PayloadError
from devices.events import Decoded, Event, Ignored, Rejected

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
    ]
)  # fmt: skip
TYPES = st.sampled_from(["door", "temperature", "heartbeat", "bogus"])
OBJECTS = st.dictionaries(KNOWN_KEYS, JSON_VALUES | TYPES, max_size=6)
MAC_LIKE = st.sampled_from(["A4C138000001", "a4:c1:38:00:00:01", "kitchen", "", "A4C1380000"])


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


PAYLOADS = (
    st.binary(max_size=64)
    | JSON_VALUES.map(_json)
    | OBJECTS.map(_json)
    | st.sampled_from([b"online", b"offline", b'{"state":"online"}', b"{", b"\xff"])
)
SEGMENTS = st.text(alphabet=st.characters(blacklist_characters="/"), max_size=8)
TOPICS = (
    st.text(max_size=40)
    | st.lists(SEGMENTS, min_size=1, max_size=6).map("/".join)
    | st.tuples(
        st.sampled_from(["isogate/dev", "zigbee2mqtt", "home/gw/BTtoMQTT", "home/gw"]),
        st.lists(SEGMENTS | MAC_LIKE | st.sampled_from(["event", "status", "availability"])),
    ).map(lambda t: "/".join([t[0], *t[1]]))
)

TopicDecoder = Callable[[str, str, bytes], Decoded]
DECODERS: dict[str, tuple[TopicDecoder, str]] = {
    "native": (native.decode, "isogate"),
    "zigbee2mqtt": (zigbee2mqtt.decode, "zigbee2mqtt"),
    "ble": (ble.decode, "home"),
}


def _assert_decoded(result: object) -> None:
    if isinstance(result, list):
        assert all(isinstance(event, Event) for event in result)
    else:
        assert isinstance(result, Rejected | Ignored)


@pytest.mark.parametrize("name", list(DECODERS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topic=TOPICS, payload=PAYLOADS)
def test_topic_decoders_answer_any_message(name: str, topic: str, payload: bytes) -> None:
    """native, zigbee2mqtt and BLE decoders return events, Rejected or Ignored for anything."""
    decode, base = DECODERS[name]
    _assert_decoded(decode(base, topic, payload))


LINE_PARTS = st.sampled_from(
    ["20", "11", "10", "2D", "EV1527", "ID=0a1b2c", "SWITCH=01", "CMD=ON", "CMD=OFF", "BAT=LOW", ""]
)
LINES = st.text(max_size=60) | st.lists(LINE_PARTS | st.text(max_size=6), max_size=7).map(
    lambda parts: ";".join(parts) + ";"
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
