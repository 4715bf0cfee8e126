"""Which decoder reads which topic, and the subscriptions that go with them."""

from __future__ import annotations

from dataclasses import dataclass

from devices import ble, native, zigbee2mqtt
from devices.events import Decoded, Ignored


@dataclass(frozen=True, slots=True)
class Router:
    """Dispatches a topic to its protocol's decoder."""

    base_topic: str = "isogate"
    z2m_base: str = "zigbee2mqtt"
    omg_base: str = "home"

    def subscriptions(self) -> list[str]:
        """The device topics the gateway subscribes to."""
        return [
            f"{self.base_topic}/dev/+/event",
            f"{self.base_topic}/dev/+/status",
            f"{self.z2m_base}/#",
            f"{self.omg_base}/+/BTtoMQTT/#",
        ]

    def decode(self, topic: str, payload: bytes) -> Decoded:
        """Decode a device message; never raises."""
        if topic.startswith(self.base_topic + "/dev/"):
            return native.decode(self.base_topic, topic, payload)
        if topic.startswith(self.z2m_base + "/"):
            return zigbee2mqtt.decode(self.z2m_base, topic, payload)
        if topic.startswith(self.omg_base + "/"):
            return ble.decode(self.omg_base, topic, payload)
        return Ignored(f"no decoder for topic {topic!r}")
