"""isogate's native device protocol (SPEC §2.1).

Wire format, base topic ``isogate`` by default:
- ``isogate/dev/<device_id>/event``: a JSON object with ``type`` door | temperature | heartbeat,
  optional ``ts`` (epoch seconds or ISO 8601 with offset), ``seq``, ``battery``, ``tamper``;
  door adds ``open`` (bool), temperature adds ``celsius`` — or ``hts``, the GATT Health
  Thermometer measurement (0x2A1C) as hex, when a bridge forwards it raw.
- ``isogate/dev/<device_id>/status``: ``online`` / ``offline`` (retained; the device's last will).
"""

from __future__ import annotations

from devices._common import (
    PayloadError,
    body_temperature,
    device_time,
    json_object,
    opt_battery,
    opt_bool,
    opt_seq,
)
from devices.events import (
    Decoded,
    DeviceRef,
    DoorEvent,
    Event,
    HeartbeatEvent,
    Ignored,
    Protocol,
    Rejected,
    StatusEvent,
    TemperatureEvent,
    device_ref,
)
from devices.hts import temperature_from_hts


def decode(base_topic: str, topic: str, payload: bytes) -> Decoded:
    """Decode one message under ``<base_topic>/dev/``."""
    parts = topic.split("/")
    base_parts = base_topic.split("/")
    rest = parts[len(base_parts) :]
    if parts[: len(base_parts)] != base_parts or len(rest) != 3 or rest[0] != "dev" or not rest[1]:
        return Rejected(f"topic {topic[:80]!r} is not {base_topic}/dev/<device_id>/event|status")
    device = device_ref(Protocol.NATIVE, rest[1])
    if isinstance(device, Rejected):
        return device
    if rest[2] == "status":
        return _status(device, payload)
    if rest[2] != "event":
        return Ignored(f"subtopic {rest[2]!r} is not one the gateway reads")
    try:
        return [_event(device, payload)]
    except PayloadError as exc:
        return Rejected(str(exc), device)


def _status(device: DeviceRef, payload: bytes) -> Decoded:
    text = payload.decode("utf-8", errors="replace").strip().lower()
    if text in ("online", "offline"):
        return [StatusEvent(device=device, online=text == "online")]
    return Rejected(f"status must be online or offline, got {text[:40]!r}", device)


def _event(device: DeviceRef, payload: bytes) -> Event:
    obj = json_object(payload)
    kind = obj.get("type")
    ts, clock_fault = device_time(obj.get("ts"))
    common = {
        "device": device,
        "ts": ts,
        "clock_fault": clock_fault,
        "seq": opt_seq(obj),
        "battery": opt_battery(obj),
        "tamper": opt_bool(obj, "tamper"),
    }
    if kind == "door":
        is_open = opt_bool(obj, "open")
        if is_open is None:
            raise PayloadError("door event without open: true/false")
        return DoorEvent(open=is_open, **common)  # type: ignore[arg-type]
    if kind == "temperature":
        if "hts" in obj:
            # A bridge forwarding the GATT Temperature Measurement (0x2A1C) raw, as hex. Its own
            # time stamp is the device's local wall time: "ts" (with an offset) is preferred.
            celsius, _device_time, site = temperature_from_hts(obj["hts"])
            return TemperatureEvent(celsius=celsius, body_site=site, **common)  # type: ignore[arg-type]
        if "celsius" not in obj:
            raise PayloadError("temperature event without celsius")
        return TemperatureEvent(celsius=body_temperature(obj["celsius"]), **common)  # type: ignore[arg-type]
    if kind == "heartbeat":
        return HeartbeatEvent(**common)  # type: ignore[arg-type]
    raise PayloadError(f"unknown event type {kind!r:.40}")
