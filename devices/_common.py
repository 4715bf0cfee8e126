"""Small pure helpers shared by the decoders: JSON that cannot poison, times, batteries.

Every helper here raises only :class:`PayloadError`; a decoder turns it into a ``Rejected``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from devices.events import SEQ_LIMIT

# Seconds since the epoch outside this span are a device clock that was never set, not a time.
_EPOCH_MIN = 946_684_800.0  # 2000-01-01
_EPOCH_MAX = 4_102_444_800.0  # 2100-01-01
_TS_MIN = datetime.fromtimestamp(_EPOCH_MIN, UTC)
_TS_MAX = datetime.fromtimestamp(_EPOCH_MAX, UTC)

MAX_DEPTH = 64
"""Deepest nesting of JSON arrays and objects a payload may have; no device sends more than 3."""

# The bytes that matter for nesting: brackets, and the quotes and escapes that hide brackets
# inside strings. (A whole-string regex would backtrack quadratically on an unclosed string.)
_SPECIAL = re.compile(rb'[\[\]{}"\\]')


class ImplausibleTimeError(ValueError):
    """A well-formed device time outside 2000–2100: a clock that was reset, not a time.

    The event is still good: it is taken at its receipt time and flagged, since rejecting it
    would let a reset clock swallow a door opening.
    """


class PayloadError(ValueError):
    """A payload field is missing, of the wrong type or out of range; the text says which."""


def safe_json(payload: bytes) -> object:
    """Parse a device payload as JSON that every later step can take.

    Args:
        payload: the raw message body.

    Returns:
        The JSON value: its floats are finite, its integers at most 4,300 digits long (each
        field an event keeps is range-checked where it is read), its nesting at most
        ``MAX_DEPTH`` deep.

    Raises:
        PayloadError: not UTF-8, not JSON, nested too deep, an integer too long, a number out of
            float range, or ``NaN``/``Infinity``/``-Infinity`` (which PostgreSQL's JSON refuses).
    """
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not UTF-8 text (byte {exc.start})") from None
    _check_depth(payload)
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"payload is not JSON: {exc.msg}") from None
    except RecursionError:  # unreachable after _check_depth; kept as the last line of defence
        raise PayloadError(f"payload is not JSON: nested deeper than {MAX_DEPTH}") from None
    except PayloadError:
        raise
    except ValueError as exc:
        if "integer string conversion" in str(exc):
            # Python's own guard (4,300 digits) against quadratic int parsing.
            raise PayloadError("payload has an integer of more than 4300 digits") from None
        raise PayloadError(f"payload is not JSON: {str(exc)[:80]}") from None


def _check_depth(payload: bytes) -> None:
    # Most payloads have a handful of brackets: only a payload that could be too deep is scanned.
    if payload.count(b"[") + payload.count(b"{") <= MAX_DEPTH:
        return
    depth, in_string, escaped_at = 0, False, -1
    for match in _SPECIAL.finditer(payload):
        at, token = match.start(), match.group()
        if at == escaped_at:
            continue
        if in_string:
            if token == b"\\":
                escaped_at = at + 1
            elif token == b'"':
                in_string = False
        elif token == b'"':
            in_string = True
        elif token in (b"[", b"{"):
            depth += 1
            if depth > MAX_DEPTH:
                raise PayloadError(f"payload is nested deeper than {MAX_DEPTH} levels")
        elif token in (b"]", b"}"):
            depth -= 1


def _refuse_constant(name: str) -> float:
    raise PayloadError(f"payload has {name}, which is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise PayloadError(f"number {text[:40]} is out of range")
    return value


# One decoder for every payload (json.loads with hooks builds a new one each call). Integers are
# left to the standard parser: its 4,300-digit guard stops the quadratic case, and every integer
# an event keeps is range-checked where it is read (seq, battery, ts); a Python hook per integer
# cost a quarter of the decode.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite)


def json_object(payload: bytes) -> dict[str, Any]:
    """Parse a payload that must be one JSON object (see ``safe_json``)."""
    value = safe_json(payload)
    if not isinstance(value, dict):
        raise PayloadError(f"payload is JSON {type(value).__name__}, expected an object")
    return value


def number(value: object, key: str) -> float:
    """A JSON number as a finite float; booleans, text and huge integers are errors."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"{key} must be a number, got {value!r:.40}")
    try:
        result = float(value)
    except OverflowError:
        raise PayloadError(f"{key} is a number out of range") from None
    if not math.isfinite(result):
        raise PayloadError(f"{key} must be a number, got {value!r:.40}")
    return result


def parse_ts(value: object) -> datetime | None:
    """A device time: epoch seconds or ISO 8601 with an offset; None when absent.

    Raises:
        PayloadError: The value is no time at all.
        ImplausibleTimeError: A time outside 2000–2100 (see :func:`device_time`).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise PayloadError("ts must be epoch seconds or ISO 8601, got a boolean")
    if isinstance(value, int | float):
        seconds = number(value, "ts")
        if not _EPOCH_MIN <= seconds <= _EPOCH_MAX:
            raise ImplausibleTimeError(f"ts {value!r:.40} is not a plausible epoch time")
        return datetime.fromtimestamp(seconds, UTC)
    if isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            raise PayloadError(f"ts {value[:40]!r} is not ISO 8601") from None
        if ts.tzinfo is None:
            raise PayloadError(f"ts {value[:40]!r} has no UTC offset")
        if not _TS_MIN <= ts <= _TS_MAX:
            raise ImplausibleTimeError(f"ts {value[:40]!r} is not a plausible time (2000–2100)")
        return ts
    raise PayloadError(f"ts must be epoch seconds or ISO 8601, got {type(value).__name__}")


def device_time(value: object) -> tuple[datetime | None, str | None]:
    """A device time and, when it was implausible and so left out, why.

    Raises:
        PayloadError: The value is no time at all.
    """
    try:
        return parse_ts(value), None
    except ImplausibleTimeError as exc:
        return None, str(exc)


def opt_bool(obj: dict[str, Any], key: str) -> bool | None:
    """An optional boolean field (absent or null → None)."""
    value = obj.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise PayloadError(f"{key} must be true or false, got {value!r:.40}")


def opt_battery(obj: dict[str, Any], key: str = "battery") -> int | None:
    """An optional battery percentage, 0–100."""
    value = obj.get(key)
    if value is None:
        return None
    pct = number(value, key)
    if not 0 <= pct <= 100:
        raise PayloadError(f"{key} {value} is outside 0–100")
    return round(pct)


def opt_seq(obj: dict[str, Any]) -> int | None:
    """An optional sequence number, 0 ≤ seq < 2^63 (what the store's BIGINT holds)."""
    value = obj.get("seq")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadError(f"seq must be a non-negative integer, got {value!r:.40}")
    if value >= SEQ_LIMIT:
        raise PayloadError(f"seq {value} is not below 2^63")
    return value


TEMP_MIN_C = 30.0
TEMP_MAX_C = 45.0


def body_temperature(value: object, key: str = "celsius") -> float:
    """A body temperature in °C; outside 30–45 °C is a measurement error, not a fever."""
    celsius = number(value, key)
    if not TEMP_MIN_C <= celsius <= TEMP_MAX_C:
        raise PayloadError(f"{key} {value} °C is outside 30–45 °C: a measurement error")
    return celsius
