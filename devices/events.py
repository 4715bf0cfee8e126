"""Typed events that every device protocol decodes into.

A decoder never raises on bad input: it returns a :class:`Rejected` that says why. Events carry
the device's *address* as the protocol knows it (a zigbee2mqtt friendly name, a BLE MAC, an
RFLink ``EV1527:0a1b2c``); the gateway maps addresses to bound devices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Protocol(StrEnum):
    """How a device reaches the gateway; the ``protocol`` of a device in the site file."""

    NATIVE = "native"
    ZIGBEE2MQTT = "zigbee2mqtt"
    BLE = "ble"
    RFLINK = "rflink"
    MQTT = "mqtt"  # camera frames over MQTT
    URL = "url"  # camera read by the gateway from a source URL
    FRIGATE = "frigate"


class EventKind(StrEnum):
    """What an event says; stored in the event log's ``kind`` column."""

    DOOR = "door"
    TEMPERATURE = "temperature"
    HEARTBEAT = "heartbeat"
    STATUS = "status"
    TAMPER = "tamper"
    FRAME = "frame"


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """A device as a protocol names it."""

    protocol: Protocol
    address: str

    def key(self) -> str:
        """Stable text form, e.g. ``zigbee2mqtt:h1_door``."""
        return f"{self.protocol.value}:{self.address}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Something a device said. ``ts`` is None when the device gave no time (use receipt time)."""

    device: DeviceRef
    ts: datetime | None = None
    seq: int | None = None
    battery: int | None = None
    tamper: bool | None = None

    @property
    def kind(self) -> EventKind:
        raise TypeError("Event is abstract")  # pragma: no cover


@dataclass(frozen=True, slots=True, kw_only=True)
class DoorEvent(Event):
    """The door contact changed (or reported) its state. ``open`` True means the door is open."""

    open: bool

    @property
    def kind(self) -> EventKind:
        return EventKind.DOOR


@dataclass(frozen=True, slots=True, kw_only=True)
class TemperatureEvent(Event):
    """A body temperature reading in degrees Celsius (already range-checked by the decoder)."""

    celsius: float
    body_site: str | None = None

    @property
    def kind(self) -> EventKind:
        return EventKind.TEMPERATURE


@dataclass(frozen=True, slots=True, kw_only=True)
class HeartbeatEvent(Event):
    """The device is alive; may carry battery and tamper state, never a door change."""

    @property
    def kind(self) -> EventKind:
        return EventKind.HEARTBEAT


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusEvent(Event):
    """Availability reported by the device or its bridge (last will, zigbee2mqtt availability)."""

    online: bool

    @property
    def kind(self) -> EventKind:
        return EventKind.STATUS


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameEvent(Event):
    """One camera image (JPEG bytes)."""

    jpeg: bytes = field(repr=False)

    @property
    def kind(self) -> EventKind:
        return EventKind.FRAME


@dataclass(frozen=True, slots=True)
class Rejected:
    """Input that could not be decoded. ``device`` is set when the sender could be told."""

    reason: str
    device: DeviceRef | None = None


@dataclass(frozen=True, slots=True)
class Ignored:
    """Input that is understood and deliberately not an event (e.g. a bridge's own log topic)."""

    reason: str


Decoded = list[Event] | Rejected | Ignored
"""What a decoder returns: zero or more events, or why there are none."""
