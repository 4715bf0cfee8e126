"""Frigate NVR's MQTT output for door cameras (``protocol: frigate``, SPEC §2.4).

Wire format, base topic (Frigate's ``topic_prefix``) ``frigate`` by default:
- ``frigate/events``: one JSON object per change of a tracked object, ``{"type": "new" | "update"
  | "end", "before": {...}, "after": {...}}``. ``after`` is the object now: ``id`` (the event id,
  ``<start epoch>-<6 random chars>``), ``camera``, ``label`` (``person``), ``current_zones`` (the
  zones it is in now), ``entered_zones``, ``has_snapshot``, ``false_positive``, ``stationary``,
  and epoch-second floats ``frame_time``, ``start_time``, ``end_time`` (null until the end).
  Frigate publishes ``new`` once the object stops being a false positive (so ``before`` says
  ``false_positive: true``), ``update`` for a better snapshot, a zone change or every few
  seconds, and ``end`` when the object is gone; it publishes at QoS 0, never retained.
- ``frigate/stats``: the ``/api/stats`` document every ``stats_interval`` (60 s by default),
  ``{"cameras": {"<camera>": {"camera_fps": 5.1, "process_fps": ..., ...}}, "service": {...}}``
  (Frigate before 0.13 put the camera objects at the top level, beside ``service``).
- Everything else under the base (``available``, ``reviews``, ``<camera>/person``, ...) is ignored.

Whether the object is a person in the door zone is for the rules to say, with the camera's
``zone`` from the site file: the decoder passes the label and the zones through.
"""

from __future__ import annotations

from typing import Any

from devices._common import PayloadError, device_time, json_object, number, opt_bool
from devices.events import (
    Decoded,
    DeviceRef,
    Event,
    HeartbeatEvent,
    Ignored,
    MotionEvent,
    Protocol,
    Rejected,
    StatusEvent,
    device_ref,
)

MAX_NAME = 64
"""Longest event id, label or zone name taken; Frigate's are under 30 characters."""
MAX_ZONES = 32
"""Most zones an object may be in at once; a door camera has a handful."""

_TYPES = ("new", "update", "end")


def decode(base: str, topic: str, payload: bytes) -> Decoded:
    """Decode one message under ``<base>/``.

    Args:
        base: Frigate's topic prefix.
        topic: the message's topic.
        payload: the message body.

    Returns:
        ``events``: one MotionEvent (or Ignored for a false positive). ``stats``: a
        HeartbeatEvent for each camera receiving frames, a StatusEvent(online=False) for each
        camera that is not. Any other topic under the base: Ignored.
    """
    prefix = base + "/"
    if not topic.startswith(prefix) or len(topic) == len(prefix):
        return Rejected(f"topic {topic[:80]!r} is not under {prefix}")
    sub = topic[len(prefix) :]
    if sub == "events":
        return _events(payload)
    if sub == "stats":
        return _stats(payload)
    return Ignored(f"Frigate topic {sub[:60]!r} is not one the gateway reads")


def _events(payload: bytes) -> Decoded:
    try:
        obj = json_object(payload)
        after = _object(obj, "after")
    except PayloadError as exc:
        return Rejected(f"Frigate event: {exc}")
    camera = after.get("camera")
    if not isinstance(camera, str) or not camera:
        return Rejected(f"Frigate event without after.camera (got {camera!r:.40})")
    device = device_ref(Protocol.FRIGATE, camera)
    if isinstance(device, Rejected):
        return device
    try:
        return _motion(device, obj.get("type"), after)
    except PayloadError as exc:
        return Rejected(f"Frigate event: {exc}", device)


def _motion(device: DeviceRef, kind: object, after: dict[str, Any]) -> Decoded:
    if kind not in _TYPES:
        raise PayloadError(f"type must be new, update or end, got {kind!r:.40}")
    ref = _text(after.get("id"), "after.id")
    label = _name(after.get("label"), "after.label")
    zones = _zones(after.get("current_zones"))
    snapshot = opt_bool(after, "has_snapshot") or False
    false_positive = opt_bool(after, "false_positive") or False
    end = kind == "end"
    if false_positive and not end:
        # Frigate announces an object only once it is a true positive; one that is not (an older
        # release, a retraction) is nobody at the door. An end always ends: harmless if unseen.
        return Ignored(f"Frigate {kind} of {ref} is a false positive")
    # The time of what the message says: the end for an end, else the frame it was seen in.
    keys = ("end_time", "frame_time") if end else ("frame_time", "start_time")
    when = next((after[k] for k in keys if after.get(k) is not None), None)
    ts, clock_fault = device_time(when)
    return [
        MotionEvent(
            device=device,
            active=not end,
            ref=ref,
            label=label,
            zones=zones,
            snapshot=snapshot,
            ts=ts,
            clock_fault=clock_fault,
        )
    ]


def _stats(payload: bytes) -> Decoded:
    try:
        obj = json_object(payload)
        cameras = _object(obj, "cameras") if "cameras" in obj else _legacy_cameras(obj)
        service = obj.get("service")
        ts, clock_fault = device_time(
            service.get("last_updated") if isinstance(service, dict) else None
        )
    except PayloadError as exc:
        return Rejected(f"Frigate stats: {exc}")
    if not cameras:
        return Ignored("Frigate stats without cameras")
    events: list[Event] = []
    faults: list[str] = []
    for name, entry in cameras.items():
        device = device_ref(Protocol.FRIGATE, name) if name else Rejected("empty camera name")
        if isinstance(device, Rejected):
            faults.append(device.reason)
            continue
        try:
            fps = number(entry.get("camera_fps") if isinstance(entry, dict) else None, "camera_fps")
        except PayloadError as exc:
            faults.append(f"camera {name[:40]!r}: {exc}")
            continue
        if fps < 0:
            faults.append(f"camera {name[:40]!r}: camera_fps {fps} is negative")
        elif fps > 0:
            events.append(HeartbeatEvent(device=device, ts=ts, clock_fault=clock_fault))
        else:
            events.append(StatusEvent(device=device, online=False, ts=ts, clock_fault=clock_fault))
    # One camera's broken entry does not hide the others' news.
    if not events:
        return Rejected(f"Frigate stats: no camera readable: {'; '.join(faults[:3])}")
    return events


def _legacy_cameras(obj: dict[str, Any]) -> dict[str, Any]:
    """Frigate before 0.13: camera objects at the top level, known by their camera_fps."""
    return {k: v for k, v in obj.items() if isinstance(v, dict) and "camera_fps" in v}


def _object(obj: dict[str, Any], key: str) -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise PayloadError(f"{key} must be an object, got {type(value).__name__}")
    return value


def _name(value: object, key: str) -> str | None:
    return None if value is None else _text(value, key)


def _text(value: object, key: str) -> str:
    if not isinstance(value, str) or not value:
        raise PayloadError(f"{key} must be non-empty text, got {value!r:.40}")
    if len(value) > MAX_NAME:
        raise PayloadError(f"{key} of {len(value)} characters is over {MAX_NAME}")
    return value


def _zones(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise PayloadError(f"after.current_zones must be a list, got {type(value).__name__}")
    if len(value) > MAX_ZONES:
        raise PayloadError(f"after.current_zones has {len(value)} zones, over {MAX_ZONES}")
    return tuple(_text(zone, "a zone name") for zone in value)
