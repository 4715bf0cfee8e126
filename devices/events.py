"""Typed events that every device protocol decodes into.

A decoder never raises on bad input: it returns a :class:`Rejected` that says why. Events carry
the device's *address* as the protocol knows it (a zigbee2mqtt friendly name, a BLE MAC, an
RFLink ``EV1527:0a1b2c``); the gateway maps addresses to bound devices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# What the store's columns hold; a decoder refuses anything longer rather than let a commit fail.
MAX_TOPIC = 512
"""Longest MQTT topic taken (``events.topic``)."""
MAX_ADDRESS = 128
"""Longest device address taken (``unknown_devices.address``)."""
MAX_KEY = 160
"""Longest ``protocol:address`` (``events.device_key``); every protocol's name fits with
``MAX_ADDRESS``."""
MAX_REASON = 512
"""Longest reason of a ``Rejected`` (``rejected.reason``)."""
MAX_PAYLOAD = 65_536
"""Largest payload decoded by default, in bytes: a device message is a few hundred."""
SEQ_LIMIT = 2**63
"""Sequence numbers are below this (the store's BIGINT)."""


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
    MOTION = "motion"


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """A device as a protocol names it."""

    protocol: Protocol
    address: str

    def key(self) -> str:
        """Stable text form, e.g. ``zigbee2mqtt:h1_door``."""
        return f"{self.protocol.value}:{self.address}"


MAC_PATTERN = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
"""A MAC address as the site file spells it, after ``normalize_mac``."""
_MAC_CHARS = re.compile(r"[0-9A-Fa-f:\-.]+")
_NOT_HEX = re.compile(r"[^0-9A-Fa-f]")


def is_mac(text: str) -> bool:
    """Whether ``text`` is a 48-bit MAC address in one of the spellings ``normalize_mac`` takes."""
    return bool(_MAC_CHARS.fullmatch(text)) and len(_NOT_HEX.sub("", text)) == 12


def normalize_mac(text: str) -> str:
    """Spell a MAC address the one way the site file and the decoders do.

    Args:
        text: ``a4c138000001``, ``a4-c1-38-00-00-01`` or ``A4:C1:38:00:00:01``.

    Returns:
        ``A4:C1:38:00:00:01``; text that is not a MAC is returned unchanged.
    """
    if not is_mac(text):
        return text
    hexes = _NOT_HEX.sub("", text)
    return ":".join(hexes[i : i + 2] for i in range(0, 12, 2)).upper()


def address_key(protocol: Protocol, address: str) -> str:
    """The form in which two addresses of one protocol name the same device.

    BLE MACs compare in their normal spelling; RFLink receivers print an ID in either case
    (``EV1527:0A1B2C`` is ``EV1527:0a1b2c``); every other protocol compares addresses exactly.
    """
    if protocol is Protocol.BLE:
        return normalize_mac(address)
    if protocol is Protocol.RFLINK:
        return address.casefold()
    return address


def device_ref(protocol: Protocol, address: str) -> DeviceRef | Rejected:
    """A DeviceRef, or Rejected (naming no device) when the address is longer than the store's."""
    if len(address) > MAX_ADDRESS:
        return Rejected(
            f"{protocol.value} address of {len(address)} characters "
            f"is over the {MAX_ADDRESS}-character limit"
        )
    return DeviceRef(protocol, address)


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Something a device said. ``ts`` is None when the device gave no time (use receipt time)."""

    device: DeviceRef
    ts: datetime | None = None
    seq: int | None = None
    battery: int | None = None
    tamper: bool | None = None
    clock_fault: str | None = None  # the device's time was left out as implausible, and why

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
    """A camera is sending good frames: the first one, then a summary now and then.

    The image itself never enters the event log; frames are analysed as they come and kept as
    evidence only around alerts. ``frames`` and ``bad`` count what arrived since the last summary;
    a summary with no good frame (``frames`` 0) says the camera sends only bad ones, and
    ``fault`` why the last was refused.
    """

    size: int
    width: int
    height: int
    frames: int = 1
    bad: int = 0
    fault: str | None = None

    @property
    def kind(self) -> EventKind:
        return EventKind.FRAME


@dataclass(frozen=True, slots=True, kw_only=True)
class MotionEvent(Event):
    """Someone at the door as a camera saw it: a run of motion began (``active``) or ended.

    From the gateway's own analysis, ``score`` is the blob's share of the door region and
    ``box`` its box as fractions of the frame. From Frigate, ``ref`` is Frigate's event id,
    ``label`` what it detected, ``zones`` the zones the object is in now, and ``snapshot``
    whether Frigate has a snapshot of it.
    """

    active: bool
    score: float | None = None
    box: tuple[float, float, float, float] | None = None
    ref: str | None = None
    label: str | None = None
    zones: tuple[str, ...] = ()
    snapshot: bool = False

    @property
    def kind(self) -> EventKind:
        return EventKind.MOTION


class CameraFault(StrEnum):
    """What the camera tamper analysis found."""

    COVERED = "covered"
    DEFOCUSED = "defocused"
    MOVED = "moved"


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraTamperEvent(Event):
    """The camera's view was tampered with (``tamper`` True, and how) or is clear again."""

    fault: CameraFault | None = None

    @property
    def kind(self) -> EventKind:
        return EventKind.TAMPER


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
