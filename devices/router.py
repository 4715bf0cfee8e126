"""Which decoder reads which topic, and the subscriptions that go with them.

The router is the one door of device input: it refuses what the store could not hold (a topic
over ``MAX_TOPIC``, a payload over ``max_payload``) before any decoder runs, and whatever a decoder
answers, it answers within the limits: a decoder that raises becomes a ``Rejected``, never a
stopped ingest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from devices import ble, frigate, native, zigbee2mqtt
from devices.events import (
    MAX_ADDRESS,
    MAX_KEY,
    MAX_PAYLOAD,
    MAX_REASON,
    MAX_TOPIC,
    SEQ_LIMIT,
    Decoded,
    Event,
    Ignored,
    Rejected,
    TemperatureEvent,
)


@dataclass(frozen=True, slots=True)
class Router:
    """Dispatches a topic to its protocol's decoder.

    Attributes:
        base_topic: the native devices' base topic.
        z2m_base: zigbee2mqtt's base topic.
        omg_base: OpenMQTTGateway's / Theengs Gateway's base topic.
        frigate_base: Frigate's topic prefix.
        max_payload: the largest payload decoded, in bytes; a larger one is rejected unread.
    """

    base_topic: str = "isogate"
    z2m_base: str = "zigbee2mqtt"
    omg_base: str = "home"
    frigate_base: str = "frigate"
    max_payload: int = MAX_PAYLOAD

    def subscriptions(self) -> list[str]:
        """The device topics the gateway subscribes to."""
        return [
            f"{self.base_topic}/dev/+/event",
            f"{self.base_topic}/dev/+/status",
            f"{self.z2m_base}/#",
            f"{self.omg_base}/+/BTtoMQTT/#",
            f"{self.frigate_base}/events",
            f"{self.frigate_base}/stats",
        ]

    def decode(self, topic: str, payload: bytes) -> Decoded:
        """Decode a device message; never raises, and every answer fits the store's columns."""
        if len(topic) > MAX_TOPIC:
            return Rejected(
                f"topic of {len(topic)} characters is over the {MAX_TOPIC}-character limit"
            )
        if len(payload) > self.max_payload:
            return Rejected(
                f"payload of {len(payload)} bytes is over the {self.max_payload}-byte limit"
            )
        try:
            decoded = self._dispatch(topic, payload)
        except Exception as exc:  # the last line of defence: one message, never the ingest
            return Rejected(_clip(f"decoder fault: {type(exc).__name__}: {exc}"))
        return within_limits(decoded)

    def _dispatch(self, topic: str, payload: bytes) -> Decoded:
        if topic.startswith(self.base_topic + "/dev/"):
            return native.decode(self.base_topic, topic, payload)
        if topic.startswith(self.z2m_base + "/"):
            return zigbee2mqtt.decode(self.z2m_base, topic, payload)
        if topic.startswith(self.omg_base + "/"):
            return ble.decode(self.omg_base, topic, payload)
        if topic.startswith(self.frigate_base + "/"):
            return frigate.decode(self.frigate_base, topic, payload)
        return Ignored(f"no decoder for topic {topic[:80]!r}")


def within_limits(decoded: Decoded) -> Decoded:
    """``decoded`` as it is when it fits the store; else what does not fit, as a Rejected.

    The decoders check their own fields; this is the one place that says what "fits" means, so
    that a decoder added later cannot let an unstorable value through.
    """
    if isinstance(decoded, Ignored):
        return Ignored(_clip(decoded.reason)) if len(decoded.reason) > MAX_REASON else decoded
    if isinstance(decoded, Rejected):
        device = decoded.device
        if device is not None and not _fits_key(device.address, device.key()):
            device = None
        if device is decoded.device and len(decoded.reason) <= MAX_REASON:
            return decoded
        return Rejected(_clip(decoded.reason), device)
    for event in decoded:
        problem = _misfit(event)
        if problem is not None:
            return Rejected(_clip(f"decoder made an event that does not fit: {problem}"))
    return decoded


def _misfit(event: Event) -> str | None:
    if not _fits_key(event.device.address, event.device.key()):
        return f"address of {len(event.device.address)} characters"
    if event.seq is not None and not 0 <= event.seq < SEQ_LIMIT:
        return "seq outside 0 to 2^63"
    if event.battery is not None and not 0 <= event.battery <= 100:
        return f"battery {event.battery}"
    if isinstance(event, TemperatureEvent) and not math.isfinite(event.celsius):
        return f"celsius {event.celsius}"
    return None


def _fits_key(address: str, key: str) -> bool:
    return len(address) <= MAX_ADDRESS and len(key) <= MAX_KEY


def _clip(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON else reason[: MAX_REASON - 1] + "…"
