"""A BLE body thermometer as OpenMQTTGateway or Theengs Gateway publish it, over real MQTT.

The thermometer is a Xiaomi/MiaoMiaoCe MMC-T201-1 style device; the payloads carry the fields
the gateways' decoder emits for it (``brand``, ``model``, ``model_id``, ``tempc``, ``tempf``,
``batt``) plus the gateway's own (``id``, ``rssi``; OpenMQTTGateway adds ``mac_type``). Readings
can be normal, feverish or faulty (a reading off the skin, a truncated message); the battery
drains a little with every reading.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from simulators.link import SimLink


class GatewayStyle(StrEnum):
    """Which BLE-to-MQTT gateway relays the thermometer."""

    OMG = "omg"  # OpenMQTTGateway on an ESP32
    THEENGS = "theengs"  # Theengs Gateway on a Raspberry Pi


_GATEWAY_NAMES = {GatewayStyle.OMG: "OMG_ESP32_BLE", GatewayStyle.THEENGS: "TheengsGateway"}


@dataclass
class BleThermometer:
    """Publishes a thermometer's advertisements; every publish waits for the broker's PUBACK."""

    link: SimLink
    mac: str = "A4:C1:38:00:00:01"
    style: GatewayStyle = GatewayStyle.OMG
    omg_base: str = "home"
    gateway: str | None = None  # the gateway's name in the topic; default per style
    battery: float = 100.0
    drain_pct: float = 0.5  # battery used per reading
    fahrenheit_only: bool = False  # Theengs-style message with tempf and no tempc
    rssi: int = -67
    rng: random.Random = field(default_factory=random.Random)
    sent: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def topic(self) -> str:
        """``<omg_base>/<gateway>/BTtoMQTT/<MAC without colons>``."""
        name = self.gateway or _GATEWAY_NAMES[self.style]
        return f"{self.omg_base}/{name}/BTtoMQTT/{self.mac.replace(':', '').upper()}"

    def payload(self, celsius: float | None) -> bytes:
        """The JSON the gateway would publish for one advertisement (no battery change).

        Args:
            celsius: the reading, or None for an advertisement that carries only the battery.
        """
        body: dict[str, Any] = {"id": self.mac.upper()}
        if self.style is GatewayStyle.OMG:
            body |= {"mac_type": 0, "adv_type": 0}
        body |= {
            "name": "MMC-T201-1",
            "rssi": self.rssi + self.rng.randint(-4, 4),
            "brand": "Xiaomi/MiaoMiaoCe",
            "model": "Digital Baby Thermometer",
            "model_id": "MMC-T201-1",
            "type": "THB",
        }
        if celsius is not None:
            if not (self.style is GatewayStyle.THEENGS and self.fahrenheit_only):
                body["tempc"] = round(celsius, 2)
            body["tempf"] = round(celsius * 9 / 5 + 32, 2)
        body["batt"] = max(0, round(self.battery))
        return json.dumps(body, separators=(",", ":")).encode()

    def publish(self, payload: bytes) -> None:
        """Publish one payload on the thermometer's topic, QoS 1, and wait for the PUBACK."""
        self.link.publish(self.topic, payload, qos=1)
        self.sent.append((self.topic, payload))

    def reading(self, celsius: float) -> bytes:
        """Take and publish one reading; the battery drains. Returns the payload."""
        self.battery = max(0.0, self.battery - self.drain_pct)
        body = self.payload(celsius)
        self.publish(body)
        return body

    def normal(self) -> float:
        """A healthy reading, 36.2–36.9 °C."""
        celsius = round(self.rng.uniform(36.2, 36.9), 1)
        self.reading(celsius)
        return celsius

    def fever(self, celsius: float | None = None) -> float:
        """A feverish reading, 37.6–39.4 °C unless given."""
        value = celsius if celsius is not None else round(self.rng.uniform(37.6, 39.4), 1)
        self.reading(value)
        return value

    def out_of_range(self, celsius: float = 24.5) -> float:
        """A faulty reading: the thermometer measured the room, not the resident."""
        self.reading(celsius)
        return celsius

    def garbage(self) -> bytes:
        """A message cut off mid-way, as a flaky gateway sometimes sends."""
        body = self.payload(36.6)[:37]
        self.publish(body)
        return body

    def battery_only(self) -> bytes:
        """An advertisement without a reading: only the battery level (a heartbeat)."""
        body = self.payload(None)
        self.publish(body)
        return body


def main(argv: list[str] | None = None) -> int:
    """Publish a scripted series of readings to a broker."""
    parser = argparse.ArgumentParser(description="Simulated BLE thermometer via OMG/Theengs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    parser.add_argument("--mac", default="A4:C1:38:00:00:01")
    parser.add_argument("--style", choices=[s.value for s in GatewayStyle], default="omg")
    parser.add_argument("--omg-base", default="home")
    parser.add_argument(
        "--scenario", choices=["normal", "fever", "faulty", "drain"], default="normal"
    )
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    with SimLink(args.host, args.port) as link:
        therm = BleThermometer(link, args.mac, GatewayStyle(args.style), args.omg_base)
        if args.scenario == "drain":
            therm.battery, therm.drain_pct = 20.0, 2.0
        for i in range(args.count):
            if args.scenario == "fever":
                therm.fever()
            elif args.scenario == "faulty":
                (therm.out_of_range, therm.garbage, therm.normal)[i % 3]()
            else:
                therm.normal()
            topic, body = therm.sent[-1]
            print(topic, body.decode(errors="replace"), flush=True)
            if i + 1 < args.count:
                time.sleep(args.interval)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
