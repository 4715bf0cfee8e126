"""A door contact sensor: native isogate flavour or a zigbee2mqtt Aqara MCCGQ11LM."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

from simulators.link import SimLink


@dataclass
class DoorSensor:
    """Publishes what a real door sensor would, over a real MQTT link."""

    link: SimLink
    address: str  # native: the device id; zigbee2mqtt: the friendly name
    flavour: str = "zigbee2mqtt"  # or "native"
    base_topic: str = "isogate"
    z2m_base: str = "zigbee2mqtt"
    battery: int = 90
    seq: int = 0
    is_open: bool = False
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    def _topic(self, sub: str = "event") -> str:
        if self.flavour == "native":
            return f"{self.base_topic}/dev/{self.address}/{sub}"
        return f"{self.z2m_base}/{self.address}" + ("/availability" if sub == "status" else "")

    def _send(self, topic: str, body: bytes, *, wait: bool = True) -> None:
        self.link.publish(topic, body, wait=wait)
        self.sent.append((topic, body))

    def report(
        self, is_open: bool, *, ts: float | None = None, wait: bool = True, tamper: bool = False
    ) -> None:
        """The contact reports a state (a change, or the same state again)."""
        topic, body = self.message(is_open, ts=ts, tamper=tamper)
        self._send(topic, body, wait=wait)

    def message(
        self, is_open: bool, *, ts: float | None = None, tamper: bool = False
    ) -> tuple[str, bytes]:
        """The topic and payload of a report of a state, without sending it (the sensor takes
        the state, and a native sensor its next sequence number)."""
        self.is_open = is_open
        body: dict[str, object]
        if self.flavour == "native":
            self.seq += 1
            body = {
                "type": "door",
                "open": is_open,
                "seq": self.seq,
                "battery": self.battery,
                "tamper": tamper,
            }
            if ts is not None:
                body["ts"] = ts
        else:
            body = {
                "contact": not is_open,
                "battery": self.battery,
                "voltage": 3005,
                "linkquality": 120,
                "tamper": tamper,
            }
        return self._topic(), json.dumps(body).encode()

    def open(self, **kw: object) -> None:
        """The door opens."""
        self.report(True, **kw)  # type: ignore[arg-type]

    def close(self, **kw: object) -> None:
        """The door closes."""
        self.report(False, **kw)  # type: ignore[arg-type]

    def heartbeat(self) -> None:
        """A periodic report that repeats the last state."""
        self.report(self.is_open)

    def availability(self, online: bool) -> None:
        """The bridge (or the device's last will) says online/offline."""
        text = "online" if online else "offline"
        body = text if self.flavour == "native" else json.dumps({"state": text})
        self.link.publish(self._topic("status"), body, retain=True)

    def bounce(self, is_open: bool, times: int = 3, gap_s: float = 0.05) -> None:
        """A contact that chatters while the door moves."""
        for i in range(times):
            self.report(is_open if i % 2 == 0 else not is_open)
            time.sleep(gap_s)
        self.report(is_open)
