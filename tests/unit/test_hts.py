"""Health Thermometer Temperature Measurement (0x2A1C): bytes to a body temperature."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices._common import PayloadError
from devices.hts import (
    HtsMeasurement,
    decode_float,
    decode_hex,
    decode_measurement,
    temperature_from_hts,
)

# Every constant is built by hand from the characteristic's layout; each byte is commented.
HTS_CELSIUS_36_8 = bytes(
    [
        0x00,  # flags: °C, no time stamp, no type
        0x70, 0x01, 0x00,  # mantissa 0x000170 = 368 (little-endian, 24-bit signed)
        0xFF,  # exponent -1 → 36.8
    ]
)  # fmt: skip
HTS_FAHRENHEIT_98_6 = bytes(
    [
        0x01,  # flags: bit 0 → °F
        0xDA, 0x03, 0x00,  # mantissa 0x0003DA = 986
        0xFF,  # exponent -1 → 98.6 °F = 37.0 °C
    ]
)  # fmt: skip
HTS_ARMPIT_WITH_TIME = bytes(
    [
        0x06,  # flags: bit 1 time stamp, bit 2 temperature type; °C
        0x8D, 0x0E, 0x00,  # mantissa 0x000E8D = 3725
        0xFE,  # exponent -2 → 37.25
        0xEA, 0x07,  # year 0x07EA = 2026
        0x0B,  # month 11
        0x17,  # day 23
        0x07,  # hours 7
        0x1F,  # minutes 31
        0x05,  # seconds 5
        0x01,  # type 1: armpit
    ]
)  # fmt: skip
HTS_EAR_FAHRENHEIT_NO_TIME = bytes(
    [
        0x05,  # flags: °F, temperature type present, no time stamp
        0xEC, 0x03, 0x00,  # mantissa 0x0003EC = 1004
        0xFF,  # exponent -1 → 100.4 °F = 38.0 °C
        0x03,  # type 3: ear
    ]
)  # fmt: skip
HTS_CLOCK_NOT_SET = bytes(
    [
        0x02,  # flags: time stamp present
        0x6F, 0x01, 0x00, 0xFF,  # 367 × 10^-1 = 36.7
        0x00, 0x00,  # year 0: not known
        0x00, 0x00,  # month 0, day 0: not known
        0x00, 0x00, 0x00,  # 00:00:00
    ]
)  # fmt: skip
HTS_MONTH_13 = bytes(
    [
        0x02,  # flags: time stamp present
        0x6F, 0x01, 0x00, 0xFF,  # 36.7
        0xEA, 0x07, 0x0D, 0x01,  # 2026, month 13 (!), day 1
        0x00, 0x00, 0x00,
    ]
)  # fmt: skip
HTS_NAN = bytes([0x00, 0xFF, 0xFF, 0x7F, 0x00])  # mantissa 0x7FFFFF: NaN (probe not on skin)
HTS_NRES = bytes([0x00, 0x00, 0x00, 0x80, 0x00])  # mantissa 0x800000: not at this resolution
HTS_PLUS_INF = bytes([0x00, 0xFE, 0xFF, 0x7F, 0x00])  # mantissa 0x7FFFFE: +INF
HTS_MINUS_INF = bytes([0x00, 0x02, 0x00, 0x80, 0x00])  # mantissa 0x800002: -INF
HTS_RESERVED = bytes([0x00, 0x01, 0x00, 0x80, 0x00])  # mantissa 0x800001: reserved
HTS_SHORT_TIME = bytes([0x02, 0x70, 0x01, 0x00, 0xFF, 0xEA, 0x07])  # time stamp flagged, 2 of 7
HTS_SHORT_TYPE = bytes([0x04, 0x70, 0x01, 0x00, 0xFF])  # type flagged, missing
HTS_SHORT_FLOAT = bytes([0x00, 0x70, 0x01])  # FLOAT cut after two bytes


def test_plain_celsius_reading() -> None:
    """Flags 0, 368 × 10^-1: 36.8 °C without time or body site."""
    assert decode_measurement(HTS_CELSIUS_36_8) == HtsMeasurement(36.8, None, None, False)


def test_fahrenheit_reading_is_converted_to_celsius() -> None:
    """98.6 °F sent by a US-market thermometer is 37.0 °C."""
    m = decode_measurement(HTS_FAHRENHEIT_98_6)
    assert m.celsius == 37.0
    assert m.fahrenheit


def test_time_stamp_and_body_site_are_read() -> None:
    """The device's own time (naive local) and the armpit site come through."""
    assert decode_measurement(HTS_ARMPIT_WITH_TIME) == HtsMeasurement(
        37.25, datetime(2026, 11, 23, 7, 31, 5), "armpit", False
    )


def test_type_follows_the_float_when_there_is_no_time_stamp() -> None:
    """With only the type flagged, the type byte sits right after the FLOAT."""
    assert decode_measurement(HTS_EAR_FAHRENHEIT_NO_TIME) == HtsMeasurement(38.0, None, "ear", True)


def test_a_clock_never_set_gives_no_time_stamp() -> None:
    """Year, month and day 0 mean "not known": the reading stands, its time is receipt time."""
    assert decode_measurement(HTS_CLOCK_NOT_SET) == HtsMeasurement(36.7, None, None, False)


@pytest.mark.parametrize(("type_byte", "site"), [(0x00, None), (0x09, "tympanum"), (0x0A, None)])
def test_reserved_body_site_values_leave_the_site_unknown(type_byte: int, site: str | None) -> None:
    """0 and 10–255 are reserved: the temperature still counts, the site is unknown."""
    raw = bytes([0x04]) + HTS_CELSIUS_36_8[1:] + bytes([type_byte])  # flags: type present
    m = decode_measurement(raw)
    assert (m.celsius, m.body_site) == (36.8, site)


def test_trailing_bytes_for_future_fields_are_ignored() -> None:
    """Bytes past the flagged fields belong to later versions of the characteristic."""
    assert decode_measurement(HTS_CELSIUS_36_8 + b"\x00\x01").celsius == 36.8


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        pytest.param(HTS_NAN, "NaN", id="nan"),
        pytest.param(HTS_NRES, "NRes", id="nres"),
        pytest.param(HTS_PLUS_INF, "+INF", id="plus-inf"),
        pytest.param(HTS_MINUS_INF, "-INF", id="minus-inf"),
        pytest.param(HTS_RESERVED, "reserved", id="reserved"),
        pytest.param(b"", "empty", id="empty"),
        pytest.param(HTS_SHORT_FLOAT, "needs 5 bytes, got 3", id="short-float"),
        pytest.param(HTS_SHORT_TIME, "needs 12 bytes, got 7", id="short-time"),
        pytest.param(HTS_SHORT_TYPE, "needs 6 bytes, got 5", id="short-type"),
        pytest.param(HTS_MONTH_13, "2026-13-01 00:00:00 is not a date", id="month-13"),
    ],
)
def test_invalid_measurements_raise_payload_error(raw: bytes, reason: str) -> None:
    """Special values, short buffers and impossible dates are errors that say which."""
    with pytest.raises(PayloadError, match=reason.replace("+", r"\+")):
        decode_measurement(raw)


def test_negative_mantissa_and_positive_exponent() -> None:
    """The mantissa is signed (0xFFFE70 = -400) and the exponent may be positive."""
    assert decode_float(bytes([0x70, 0xFE, 0xFF, 0xFF])) == -40.0  # -400 × 10^-1
    assert decode_float(bytes([0x04, 0x00, 0x00, 0x01])) == 40.0  # 4 × 10^1


@given(
    st.integers(-(2**23) + 3, 2**23 - 3).filter(lambda m: m not in (-(2**23) + 1, -(2**23) + 2)),
    st.integers(-8, 3),
)
def test_float_round_trips_for_any_ordinary_value(mantissa: int, exponent: int) -> None:
    """Encoding mantissa and exponent and decoding them gives mantissa × 10^exponent."""
    raw = (mantissa & 0xFFFFFF).to_bytes(3, "little") + (exponent & 0xFF).to_bytes(1, "little")
    assert decode_float(raw) == pytest.approx(mantissa * 10.0**exponent, rel=1e-12)


def test_hex_text_with_separators_decodes() -> None:
    """Hex with spaces or colons is the same measurement as the bytes."""
    assert decode_hex("06 8d 0e 00 fe ea 07 0b 17 07 1f 05 01") == decode_measurement(
        HTS_ARMPIT_WITH_TIME
    )
    assert decode_hex("00:70:01:00:FF").celsius == 36.8
    with pytest.raises(PayloadError, match="not hex"):
        decode_hex("06 zz")
    with pytest.raises(PayloadError, match="not hex"):
        decode_hex("0")


def test_native_hts_field_gives_celsius_time_and_site() -> None:
    """``temperature_from_hts`` is what the native decoder calls for an ``hts`` field."""
    assert temperature_from_hts(HTS_ARMPIT_WITH_TIME.hex()) == (
        37.25,
        datetime(2026, 11, 23, 7, 31, 5),
        "armpit",
    )


def test_native_hts_field_accepts_the_edge_of_the_plausible_range() -> None:
    """350 × 10^-1 = 35.0 °C (a cold armpit) is a reading, not an error."""
    assert temperature_from_hts(bytes([0x00, 0x5E, 0x01, 0x00, 0xFF]).hex())[0] == 35.0


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(bytes([0x00, 0xF5, 0x00, 0x00, 0xFF]).hex(), "outside 30–45", id="24.5"),
        pytest.param(HTS_NAN.hex(), "NaN", id="nan"),
        pytest.param(368, "must be a hex string", id="number"),
        pytest.param(None, "must be a hex string", id="null"),
    ],
)
def test_native_hts_field_rejects_what_is_not_a_body_temperature(
    value: object, reason: str
) -> None:
    """Room temperatures, special values and non-strings raise PayloadError."""
    with pytest.raises(PayloadError, match=reason):
        temperature_from_hts(value)
