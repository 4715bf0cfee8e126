"""The shipped broker config keeps a young session and its queue through a broker crash."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from simulators.broker import Mosquitto, mosquitto_available
from simulators.link import SimLink

pytestmark = pytest.mark.skipif(not mosquitto_available(), reason="needs mosquitto")

QUEUED = 2000
# config/mosquitto.conf saves every `autosave_interval` (5) seconds, in practice after 6 whole
# seconds: a crash this long after the session began must not lose it or its queue. Messages
# queued within the last interval before a crash may be lost: that is the setting's price.
CRASH_AFTER_S = 8.5


class _Gateway:
    """A persistent session (fixed client id, clean session off) that counts what it gets."""

    def __init__(self, port: int, client_id: str, topic: str) -> None:
        self.port, self.topic = port, topic
        self.received: set[bytes] = set()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self.client.on_message = lambda _c, _u, m: self.received.add(m.payload)
        self.client.on_subscribe = lambda *_a: self.subscribed.set()

    def connect(self, *, subscribe: bool) -> None:
        connected = threading.Event()
        self.client.on_connect = lambda *_a: connected.set()
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        assert connected.wait(10), "no CONNACK"
        if subscribe:
            self.client.subscribe(self.topic, qos=1)
            assert self.subscribed.wait(10), "no SUBACK"

    def disconnect(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_a_young_session_and_its_queue_survive_a_broker_crash(tmp_path: Path) -> None:
    """Session made, 2,000 QoS 1 messages queued, broker SIGKILLed seconds later: all arrive."""
    topic = f"isogate-{uuid.uuid4().hex[:8]}/dev/door-h1/event"
    with Mosquitto(tmp_path / "broker") as broker:
        gateway = _Gateway(broker.port, f"isogate-{uuid.uuid4().hex[:8]}", topic)
        gateway.connect(subscribe=True)
        gateway.disconnect()
        with SimLink("127.0.0.1", broker.port) as device:
            device.publish_many((topic, f"{n}") for n in range(QUEUED))
        time.sleep(CRASH_AFTER_S)
        broker.restart(crash=True)
        gateway.connect(subscribe=False)
        deadline = time.monotonic() + 20
        while len(gateway.received) < QUEUED and time.monotonic() < deadline:
            time.sleep(0.1)
        gateway.disconnect()
    assert len(gateway.received) == QUEUED
