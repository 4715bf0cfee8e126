"""A police officer's phone app: receives alerts over MQTT and acknowledges them.

It subscribes (QoS 1) to ``<base>/alerts/to/<person_id>``, records every alert it receives, and
acknowledges each new active alert by publishing to ``<base>/ack/<person_id>/<alert_id>`` (QoS 1,
SPEC §3) after ``ack_delay`` seconds, or never when ``ack_delay`` is None. Against a broker with
the files of ``isogate broker-config`` it logs in as the person (``username``, ``password``).
The paho client runs on its own network thread, so tests of any kind can use it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from simulators._lifetime import StartStop

_ACTIVE = ("open", "escalated")


@dataclass(frozen=True, slots=True)
class ReceivedAlert:
    """One alert message as the app received it (SPEC §3)."""

    id: str
    type: str
    status: str
    severity: str
    household: str
    message: str
    escalation_level: int
    snapshot: str | None
    payload: Mapping[str, Any]
    received_at: float

    @classmethod
    def parse(cls, payload: bytes, received_at: float) -> ReceivedAlert:
        """Decode an alert payload.

        Raises:
            ValueError: not JSON, not an object, or without an ``id``.
        """
        data = json.loads(payload.decode("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise ValueError(f"not an alert: {payload[:80]!r}")
        return cls(
            id=data["id"],
            type=str(data.get("type", "")),
            status=str(data.get("status", "")),
            severity=str(data.get("severity", "")),
            household=str(data.get("household", "")),
            message=str(data.get("message", "")),
            escalation_level=int(data.get("escalation_level", 0)),
            snapshot=data.get("snapshot"),
            payload=MappingProxyType(data),
            received_at=received_at,
        )


class PoliceApp(StartStop):
    """One officer's app; ``start()``/``stop()`` or use it as a context manager."""

    def __init__(
        self,
        person_id: str,
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        base: str = "isogate",
        ack_delay: float | None = 0.0,
        client_id: str | None = None,
        clean_session: bool = True,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        """Prepare the app; nothing connects until ``start``.

        Args:
            person_id: The staff id (``p1``): the topic it listens on and acknowledges on.
            host: Broker host.
            port: Broker port.
            base: The base topic.
            ack_delay: Seconds before acknowledging a new alert; None never acknowledges.
            client_id: MQTT client id; a unique one by default.
            clean_session: False keeps the subscription, and what arrives for it, at the broker
                while the app is away (a phone out of coverage; the broker restarting).
            username: The broker login (with the broker's ACL: the person id); None for none.
            password: Its password.
        """
        self.person_id = person_id
        self.host, self.port, self.base = host, port, base
        self.ack_delay = ack_delay
        self.topic = f"{base}/alerts/to/{person_id}"
        self.alerts: list[ReceivedAlert] = []
        """Every alert message received, updates included, in order."""
        self.acked: list[str] = []
        """Alert ids acknowledged (the ack publish was confirmed by the broker)."""
        self.bad_payloads: list[bytes] = []
        self._seen: set[str] = set()
        self._timers: list[threading.Timer] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or f"police-{person_id}-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311,
            clean_session=clean_session,
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        # Back within a second or two of the broker, not after paho's default of up to 2 min.
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def start(self, timeout: float = 5.0) -> PoliceApp:
        """Connect and wait until the subscription is confirmed.

        Raises:
            TimeoutError: no SUBACK within ``timeout`` seconds.
        """
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(timeout):
            self.stop()
            raise TimeoutError(f"police app {self.person_id} did not subscribe in {timeout}s")
        return self

    def stop(self) -> None:
        """Cancel pending acks and disconnect."""
        with self._cond:
            timers, self._timers = self._timers, []
        for timer in timers:
            timer.cancel()
        self.client.disconnect()
        self.client.loop_stop()

    def wait_for(
        self, predicate: Callable[[list[ReceivedAlert]], bool], timeout: float = 5.0
    ) -> list[ReceivedAlert]:
        """Block until ``predicate(alerts)`` holds; return the alerts.

        Raises:
            TimeoutError: it did not hold within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.alerts):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.person_id}: condition not met; got {self.alerts}")
                self._cond.wait(left)
            return list(self.alerts)

    def wait_acked(self, alert_id: str, timeout: float = 5.0) -> None:
        """Block until this app acknowledged ``alert_id``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while alert_id not in self.acked:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.person_id} did not acknowledge {alert_id}")
                self._cond.wait(left)

    def ack(self, alert_id: str, note: str | None = None) -> None:
        """Acknowledge ``alert_id`` now, with an optional note (QoS 1, waits for the PUBACK)."""
        body = json.dumps({"note": note}, ensure_ascii=False) if note else ""
        topic = f"{self.base}/ack/{self.person_id}/{alert_id}"
        info = self.client.publish(topic, body, qos=1)
        info.wait_for_publish(timeout=5)
        with self._cond:
            self.acked.append(alert_id)
            self._cond.notify_all()

    # -- paho callbacks (network thread) -------------------------------------------------

    def _on_connect(
        self, client: mqtt.Client, _ud: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if not reason.is_failure:
            # Subscribing on every connect keeps the app listening across reconnects.
            client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, _c: Any, _ud: Any, _mid: int, _codes: Any, _props: Any) -> None:
        self._subscribed.set()

    def _on_message(self, _c: Any, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            alert = ReceivedAlert.parse(bytes(msg.payload), time.time())
        except (ValueError, TypeError):
            with self._cond:
                self.bad_payloads.append(bytes(msg.payload))
            return
        with self._cond:
            self.alerts.append(alert)
            new = alert.id not in self._seen
            self._seen.add(alert.id)
            self._cond.notify_all()
        if not new or alert.status not in _ACTIVE or self.ack_delay is None:
            return
        # A timer, not the network thread: ack() waits for PUBACK, which that thread delivers.
        timer = threading.Timer(self.ack_delay, self.ack, args=(alert.id,))
        timer.daemon = True
        with self._cond:
            self._timers.append(timer)
        timer.start()
