"""An arrival: one message from a device link, and what is judged of it before the rules.

Its fingerprint (to tell a broker's redelivery), the excerpt and rejected-list entry people
read, and when it happened: the device's own time only where that is plausible.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from devices.events import (
    MAX_KEY,
    MAX_REASON,
    MAX_TOPIC,
    Decoded,
    DoorEvent,
    Event,
    Protocol,
)
from gateway.store.records import RejectedRecord, UnknownSighting, Writes
from rules.directory import Binding

MAX_CLOCK_AHEAD = timedelta(minutes=5)
# A device time further back than this (or than the gateway was down, if longer) is a clock
# that was reset, not an event that waited at the broker: the receipt time is used.
MAX_CLOCK_BEHIND = timedelta(hours=24)


@dataclass(slots=True)
class Arrival:
    """A message from a device link. ``decoded`` is set by links that decode themselves.

    Not frozen for speed alone (a frozen dataclass's ``__init__`` costs ~0.16 µs a field, one
    per message on the hot path): it is a value, and nothing changes one once made.
    """

    source: str
    topic: str
    payload: bytes
    received_at: datetime
    dup: bool = False
    decoded: Decoded | None = None
    mid: int | None = None  # the broker's packet id: a redelivery comes with the same one


def excerpt(payload: bytes, limit: int = 300) -> str:
    """A printable excerpt of a payload for people to read."""
    text = payload[:limit].decode("utf-8", errors="backslashreplace")
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text + ("…" if len(payload) > limit else "")


def rejected_record(arrival: Arrival, reason: str, device_key: str | None = None) -> RejectedRecord:
    """A rejected-list entry for an arrival, cut to fit the store's columns."""
    return RejectedRecord(
        arrival.received_at,
        arrival.source,
        arrival.topic[:MAX_TOPIC],
        reason[:MAX_REASON],
        excerpt(arrival.payload),
        device_key[:MAX_KEY] if device_key else None,
    )


def unknown_device(arrival: Arrival, event: Event, w: Writes) -> None:
    """Stage what an event of a device bound to no household leaves: a sighting on the
    unknown-device list, and for most protocols a rejected message too."""
    ref = event.device
    sighting = UnknownSighting(
        ref.key(),
        ref.protocol.value,
        ref.address,
        arrival.topic,
        arrival.received_at,
        excerpt(arrival.payload),
    )
    w.unknown.append(sighting)
    # Radios around a BLE gateway hear every phone and watch nearby: those only go to the
    # unknown-device list (SPEC §2.3); other protocols are also a rejected message.
    if ref.protocol is not Protocol.BLE:
        reason = f"device {ref.key()} is not bound to any household"
        w.rejected.append(rejected_record(arrival, reason, ref.key()))


def digest(topic: str, payload: bytes) -> str:
    """Fingerprint of a message, to spot a broker's redelivery of one already stored."""
    return hashlib.md5(topic.encode() + b"\0" + payload, usedforsecurity=False).hexdigest()


def event_time(
    event: Event, received_at: datetime, binding: Binding, behind_limit: timedelta
) -> tuple[datetime, str | None]:
    """When the event happened, and why the device's own time was not used (if it was not).

    The device's time is kept when it is plausible, since events queued at the broker during an
    outage arrive late but happened when the device said. It is not used when it lies in the
    future (a clock running ahead, or a forged time), further back than ``behind_limit`` (a
    clock reset to 2000), or — for a door — before the isolation began while the receipt falls
    inside it: a device's clock must never move an opening out of the isolation period.
    """
    if event.ts is None:
        return received_at, ("device_clock_implausible" if event.clock_fault else None)
    if event.ts > received_at + MAX_CLOCK_AHEAD:
        return received_at, "device_clock_ahead"
    if event.ts < received_at - behind_limit:
        return received_at, "device_clock_behind"
    period = binding.household.isolation
    if (
        isinstance(event, DoorEvent)
        and period is not None
        and not period.contains(event.ts)
        and period.contains(received_at)
    ):
        return received_at, "device_clock_outside_isolation"
    return event.ts, None
