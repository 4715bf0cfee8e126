"""The BLE thermometer simulator over a real broker: what a subscriber receives decodes right."""

from __future__ import annotations

import queue
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt

from devices import ble
from devices.events import DeviceRef, HeartbeatEvent, Protocol, Rejected, TemperatureEvent
from simulators.ble import BleThermometer, GatewayStyle
from simulators.link import SimLink


def _subscriber(host: str, port: int, topic: str) -> tuple[mqtt.Client, queue.Queue[Any]]:
    received: queue.Queue[Any] = queue.Queue()
    subscribed = threading.Event()
    client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2)
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _c, _u, msg: received.put((msg.topic, msg.payload))
    client.connect(host, port)
    client.loop_start()
    assert subscribed.wait(10), "no SUBACK"
    return client, received


def test_simulated_thermometer_day_reaches_a_subscriber_and_decodes(broker: Any) -> None:
    """Normal, feverish, faulty and battery-only messages arrive in order and decode as meant."""
    base = f"home-{uuid.uuid4().hex[:8]}"  # unique per test: no retained or stray traffic
    client, received = _subscriber(broker.host, broker.port, f"{base}/+/BTtoMQTT/#")
    try:
        with SimLink(broker.host, broker.port) as link:
            therm = BleThermometer(link, style=GatewayStyle.THEENGS, omg_base=base, battery=16.0)
            therm.normal()
            therm.fever(38.7)
            therm.out_of_range()
            therm.garbage()
            therm.battery_only()
        messages = [received.get(timeout=5) for _ in range(5)]
    finally:
        client.disconnect()
        client.loop_stop()
    assert messages == therm.sent
    results = [ble.decode(base, topic, body) for topic, body in messages]
    device = DeviceRef(Protocol.BLE, "A4:C1:38:00:00:01")
    assert results[1] == [TemperatureEvent(device=device, celsius=38.7, battery=15)]
    assert [type(r).__name__ for r in results] == ["list", "list", "Rejected", "Rejected", "list"]
    assert isinstance(results[2], Rejected)
    assert "outside 30–45" in results[2].reason
    assert results[4] == [HeartbeatEvent(device=device, battery=14)]
