"""Bluetooth Health Thermometer Service: the Temperature Measurement characteristic (0x2A1C).

Wire format (little-endian), as the Bluetooth SIG's GATT specification lays it out:

====== ======= ==================================================================
offset size    field
====== ======= ==================================================================
0      1       flags: bit 0 unit (0 °C, 1 °F), bit 1 time stamp present,
               bit 2 temperature type present, bits 3–7 reserved
1      4       temperature: IEEE 11073-20601 32-bit FLOAT, a 24-bit signed
               mantissa (bytes 1–3) and an 8-bit signed base-10 exponent (byte 4)
5      7       time stamp, if flagged: year uint16, month, day, hours, minutes,
               seconds (the Date Time characteristic; 0 in year, month or day
               means "not known"); the device's local wall time, no offset
5 / 12 1       temperature type, if flagged: where on the body it was taken
====== ======= ==================================================================

FLOAT special values (mantissa, any exponent): NaN 0x7FFFFF, NRes 0x800000, +INF 0x7FFFFE,
-INF 0x800002, reserved 0x800001. None of them is a temperature, so each is an error here.

Native devices that relay a measurement send it as hex in their temperature event
(``{"type": "temperature", "hts": "06..."}``); ``temperature_from_hts`` is that path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from devices._common import PayloadError, body_temperature

FLAG_FAHRENHEIT = 0x01
FLAG_TIMESTAMP = 0x02
FLAG_TYPE = 0x04

# Temperature Type characteristic (0x2A1D) values; 0 and 10–255 are reserved.
BODY_SITES: dict[int, str] = {
    1: "armpit",
    2: "body",
    3: "ear",
    4: "finger",
    5: "gi_tract",
    6: "mouth",
    7: "rectum",
    8: "toe",
    9: "tympanum",
}

_SPECIAL_MANTISSAS: dict[int, str] = {
    0x7FFFFF: "NaN",
    0x800000: "NRes (not at this resolution)",
    0x7FFFFE: "+INF",
    0x800002: "-INF",
    0x800001: "a reserved value",
}
_SEPARATORS = re.compile(r"[\s:\-]")


@dataclass(frozen=True, slots=True)
class HtsMeasurement:
    """One decoded Temperature Measurement.

    Attributes:
        celsius: the temperature in °C (converted when the device sent °F), not range-checked.
        timestamp: the device's own time of measurement, naive local wall time, or None.
        body_site: where it was taken (a ``BODY_SITES`` value), or None when not sent or reserved.
        fahrenheit: whether the device sent °F.
    """

    celsius: float
    timestamp: datetime | None
    body_site: str | None
    fahrenheit: bool


def decode_float(raw: bytes) -> float:
    """Decode a 4-byte IEEE 11073 FLOAT.

    Args:
        raw: exactly four bytes, little-endian.

    Returns:
        mantissa × 10^exponent, rounded to the digits the exponent gives.

    Raises:
        PayloadError: not four bytes, or one of the special values.
    """
    if len(raw) != 4:
        raise PayloadError(f"an IEEE 11073 FLOAT is 4 bytes, got {len(raw)}")
    mantissa = int.from_bytes(raw[:3], "little")
    if mantissa in _SPECIAL_MANTISSAS:
        raise PayloadError(f"temperature is {_SPECIAL_MANTISSAS[mantissa]}")
    if mantissa & 0x800000:
        mantissa -= 1 << 24
    exponent = int.from_bytes(raw[3:], "little", signed=True)
    # round() drops the binary noise of 10**-n (368 × 0.1 must be 36.8, not 36.800000000000004).
    return round(mantissa * 10.0**exponent, max(0, -exponent))


def decode_measurement(raw: bytes) -> HtsMeasurement:
    """Decode the value of a Temperature Measurement characteristic.

    Args:
        raw: the characteristic's bytes as notified or indicated by the thermometer.

    Returns:
        The measurement in °C with its optional time stamp and body site. Trailing bytes past the
        flagged fields are ignored: the reserved flag bits may announce fields of later versions.

    Raises:
        PayloadError: the buffer is shorter than its flags say, the value is a FLOAT special
            value, or the time stamp is not a date.
    """
    if not raw:
        raise PayloadError("empty temperature measurement")
    flags = raw[0]
    need = 5 + (7 if flags & FLAG_TIMESTAMP else 0) + (1 if flags & FLAG_TYPE else 0)
    if len(raw) < need:
        raise PayloadError(
            f"temperature measurement with flags 0x{flags:02x} needs {need} bytes, got {len(raw)}"
        )
    value = decode_float(raw[1:5])
    fahrenheit = bool(flags & FLAG_FAHRENHEIT)
    celsius = round((value - 32.0) * 5.0 / 9.0, 2) if fahrenheit else value
    at = 5
    timestamp = None
    if flags & FLAG_TIMESTAMP:
        timestamp = _date_time(raw[at : at + 7])
        at += 7
    body_site = BODY_SITES.get(raw[at]) if flags & FLAG_TYPE else None
    return HtsMeasurement(celsius, timestamp, body_site, fahrenheit)


def decode_hex(text: str) -> HtsMeasurement:
    """Decode a measurement written as hex (``"06 70 01 00 ff ..."``, separators optional).

    Raises:
        PayloadError: not hex, or an invalid measurement (see ``decode_measurement``).
    """
    compact = _SEPARATORS.sub("", text)
    try:
        raw = bytes.fromhex(compact)
    except ValueError:
        raise PayloadError(f"hts {text[:40]!r} is not hex bytes") from None
    return decode_measurement(raw)


def temperature_from_hts(hex_text: object) -> tuple[float, datetime | None, str | None]:
    """The native temperature event's ``hts`` field as a body temperature.

    Args:
        hex_text: the JSON value of ``hts``; anything but a hex string is an error.

    Returns:
        ``(celsius, device_time, body_site)``: celsius range-checked to 30–45 °C; device_time is
        naive local wall time of the device (the caller gives it the site's zone) or None.

    Raises:
        PayloadError: not a string, not a valid measurement, or outside 30–45 °C.
    """
    if not isinstance(hex_text, str):
        raise PayloadError(f"hts must be a hex string, got {type(hex_text).__name__}")
    measurement = decode_hex(hex_text)
    celsius = body_temperature(measurement.celsius, "hts temperature")
    return celsius, measurement.timestamp, measurement.body_site


def _date_time(raw: bytes) -> datetime | None:
    year = int.from_bytes(raw[:2], "little")
    month, day, hours, minutes, seconds = raw[2:7]
    if year == 0 or month == 0 or day == 0:
        return None  # the device's clock was never set: use the time of receipt
    try:
        return datetime(year, month, day, hours, minutes, seconds)
    except ValueError as exc:
        stamp = f"{year:04d}-{month:02d}-{day:02d} {hours:02d}:{minutes:02d}:{seconds:02d}"
        raise PayloadError(f"time stamp {stamp} is not a date: {exc}") from None
