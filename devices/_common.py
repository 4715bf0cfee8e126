"""Small pure helpers shared by the decoders: JSON objects, times, batteries."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

# Seconds since the epoch outside this span are a device clock that was never set, not a time.
_EPOCH_MIN = 946_684_800.0  # 2000-01-01
_EPOCH_MAX = 4_102_444_800.0  # 2100-01-01


class PayloadError(ValueError):
    """A payload field is missing, of the wrong type or out of range; the text says which."""


def json_object(payload: bytes) -> dict[str, Any]:
    """Parse a payload that must be one JSON object."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not UTF-8 text (byte {exc.start})") from None
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deep"
        raise PayloadError(f"payload is not JSON: {reason}") from None
    if not isinstance(value, dict):
        raise PayloadError(f"payload is JSON {type(value).__name__}, expected an object")
    return value


def parse_ts(value: object) -> datetime | None:
    """A device time: epoch seconds or ISO 8601 with an offset; None when absent."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise PayloadError("ts must be epoch seconds or ISO 8601, got a boolean")
    if isinstance(value, int | float):
        if not math.isfinite(value) or not _EPOCH_MIN <= value <= _EPOCH_MAX:
            raise PayloadError(f"ts {value!r} is not a plausible epoch time")
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            ts = datetime.fromisoformat(value)
        except ValueError:
            raise PayloadError(f"ts {value[:40]!r} is not ISO 8601") from None
        if ts.tzinfo is None:
            raise PayloadError(f"ts {value[:40]!r} has no UTC offset")
        return ts
    raise PayloadError(f"ts must be epoch seconds or ISO 8601, got {type(value).__name__}")


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
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PayloadError(f"{key} must be a number, got {value!r:.40}")
    if not 0 <= value <= 100:
        raise PayloadError(f"{key} {value} is outside 0–100")
    return round(value)


def opt_seq(obj: dict[str, Any]) -> int | None:
    """An optional non-negative integer sequence number."""
    value = obj.get("seq")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PayloadError(f"seq must be a non-negative integer, got {value!r:.40}")
    return value


TEMP_MIN_C = 30.0
TEMP_MAX_C = 45.0


def body_temperature(value: object, key: str = "celsius") -> float:
    """A body temperature in °C; outside 30–45 °C is a measurement error, not a fever."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PayloadError(f"{key} must be a number, got {value!r:.40}")
    if not TEMP_MIN_C <= value <= TEMP_MAX_C:
        raise PayloadError(f"{key} {value} °C is outside 30–45 °C: a measurement error")
    return float(value)
