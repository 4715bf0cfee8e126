"""What an event said, typed per kind, and its JSON form in the event log's ``data`` column.

The JSON is the one the log has always held (only the values a device gave, ``device_ts`` as
ISO 8601, a frame's size as ``bytes``), so rows written before these types read back the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devices.events import (
    CameraTamperEvent,
    DoorEvent,
    Event,
    FrameEvent,
    MotionEvent,
    StatusEvent,
    TemperatureEvent,
)

log = logging.getLogger("isogate.store")


@dataclass(frozen=True, slots=True, kw_only=True)
class EventData:
    """What every kind may carry: battery, tamper flag and the device's own time.

    A heartbeat or tamper event is this alone; so is a row whose data does not fit its kind.
    """

    battery: int | None = None
    tamper: bool | None = None
    device_ts: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``data`` column's JSON: only what the device said."""
        data = {k: v for k, v in self._own().items() if v is not None}
        if self.battery is not None:
            data["battery"] = self.battery
        if self.tamper is not None:
            data["tamper"] = self.tamper
        data.update(self._frame())
        if self.device_ts is not None:
            data["device_ts"] = self.device_ts.isoformat()
        return data

    def _own(self) -> dict[str, Any]:
        return {}

    def _frame(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class DoorData(EventData):
    """A door contact's state: ``open`` True means open."""

    open: bool

    def _own(self) -> dict[str, Any]:
        return {"open": self.open}


@dataclass(frozen=True, slots=True, kw_only=True)
class TemperatureData(EventData):
    """A body temperature reading in °C, and where on the body when the device says."""

    celsius: float
    body_site: str | None = None

    def _own(self) -> dict[str, Any]:
        return {"celsius": self.celsius, "body_site": self.body_site}


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusData(EventData):
    """Availability: online or not."""

    online: bool

    def _own(self) -> dict[str, Any]:
        return {"online": self.online}


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameData(EventData):
    """A camera frame; the log keeps its size, not the image."""

    size: int
    width: int | None = None
    height: int | None = None
    frames: int | None = None
    bad: int | None = None
    fault: str | None = None

    def _frame(self) -> dict[str, Any]:
        extra: dict[str, Any] = {"width": self.width, "height": self.height}
        extra |= {"frames": self.frames, "bad": self.bad, "fault": self.fault}
        return {"bytes": self.size} | {k: v for k, v in extra.items() if v is not None}


@dataclass(frozen=True, slots=True, kw_only=True)
class MotionData(EventData):
    """Motion at the door began (``active``) or ended, as analysed or as Frigate said."""

    active: bool
    score: float | None = None
    ref: str | None = None
    label: str | None = None
    zones: tuple[str, ...] = ()

    def _own(self) -> dict[str, Any]:
        own: dict[str, Any] = {"active": self.active, "score": self.score, "ref": self.ref}
        own["label"] = self.label
        own["zones"] = list(self.zones) or None
        return own


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraTamperData(EventData):
    """What the camera tamper analysis found (``fault``), with the tamper flag."""

    fault: str | None = None

    def _own(self) -> dict[str, Any]:
        return {"fault": self.fault}


def event_data(event: Event) -> EventData:
    """What the log keeps of a decoded event."""
    common: dict[str, Any] = {
        "battery": event.battery,
        "tamper": event.tamper,
        "device_ts": event.ts,
    }
    if isinstance(event, DoorEvent):
        return DoorData(open=event.open, **common)
    if isinstance(event, TemperatureEvent):
        return TemperatureData(celsius=event.celsius, body_site=event.body_site, **common)
    if isinstance(event, StatusEvent):
        return StatusData(online=event.online, **common)
    if isinstance(event, FrameEvent):
        return FrameData(
            size=event.size,
            width=event.width,
            height=event.height,
            frames=event.frames,
            bad=event.bad,
            fault=event.fault,
            **common,
        )
    if isinstance(event, MotionEvent):
        return MotionData(
            active=event.active,
            score=event.score,
            ref=event.ref,
            label=event.label,
            zones=event.zones,
            **common,
        )
    if isinstance(event, CameraTamperEvent):
        return CameraTamperData(fault=event.fault.value if event.fault else None, **common)
    return EventData(**common)


def event_data_from_json(kind: str, data: dict[str, Any]) -> EventData:
    """Read a ``data`` column back; a value of the wrong type is left out, not fatal."""
    common: dict[str, Any] = {
        "battery": _typed(data.get("battery"), int),
        "tamper": _typed(data.get("tamper"), bool),
        "device_ts": _time(data.get("device_ts")),
    }
    if kind == "door" and isinstance(data.get("open"), bool):
        return DoorData(open=data["open"], **common)
    celsius = data.get("celsius")
    if kind == "temperature" and isinstance(celsius, int | float) and not isinstance(celsius, bool):
        site = data.get("body_site")
        return TemperatureData(
            celsius=float(celsius), body_site=site if isinstance(site, str) else None, **common
        )
    if kind == "status" and isinstance(data.get("online"), bool):
        return StatusData(online=data["online"], **common)
    if kind == "frame" and _typed(data.get("bytes"), int) is not None:
        counts = {k: _typed(data.get(k), int) for k in ("width", "height", "frames", "bad")}
        fault = _typed(data.get("fault"), str)
        return FrameData(size=data["bytes"], **counts, fault=fault, **common)
    if kind == "motion" and isinstance(data.get("active"), bool):
        zones = data.get("zones")
        return MotionData(
            active=data["active"],
            score=_typed(data.get("score"), float),
            ref=_typed(data.get("ref"), str),
            label=_typed(data.get("label"), str),
            zones=tuple(z for z in zones if isinstance(z, str)) if isinstance(zones, list) else (),
            **common,
        )
    if kind == "tamper" and isinstance(data.get("fault"), str):
        return CameraTamperData(fault=data["fault"], **common)
    return EventData(**common)


def _typed(value: Any, kind: type) -> Any:
    # bool is an int in Python: a stored true must not read as battery 1.
    if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
        return value
    return None


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        log.warning("event data: device_ts %r is not ISO 8601", value)
        return None
