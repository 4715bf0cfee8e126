"""Who receives the alerts during a fault run, and what each of them got.

- one police app per officer (:class:`OfficerApp`): a persistent MQTT session on
  ``<base>/alerts/to/<person>`` that acknowledges every new alert, as a phone would;
- :class:`AlertListener`: a persistent session on ``<base>/alerts/#`` that keeps every copy of
  every alert message on every topic, to find one delivered twice;
- the webhook receivers and the GSM modem (simulators of their own).

Persistent sessions, because a police app that is away while the broker restarts must still get
what was published meanwhile. A copy the broker sends again because its PUBACK was lost (marked
DUP) is the broker's at-least-once, not the gateway's doing; it is counted apart.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from simulators.police_app import PoliceApp


@dataclass(frozen=True, slots=True)
class Copy:
    """One alert message as received."""

    topic: str
    payload: bytes
    dup: bool
    at: float = field(default_factory=time.time)

    @property
    def alert(self) -> dict[str, Any]:
        """The alert JSON (an empty dict for a payload that is not one)."""
        try:
            doc = json.loads(self.payload)
        except ValueError:
            return {}
        return doc if isinstance(doc, dict) else {}


def duplicates(copies: list[Copy]) -> tuple[int, int]:
    """(copies the gateway sent twice, copies the broker sent again marked DUP).

    The same bytes on the same topic twice is one message delivered twice: every change of an
    alert (raised, repeated, acknowledged, resolved) has its own ``updated_at`` and ``count``.
    """
    fresh = Counter((c.topic, c.payload) for c in copies if not c.dup)
    again = sum(n - 1 for n in fresh.values() if n > 1)
    return again, sum(c.dup for c in copies)


def twice(copies: list[Copy], limit: int = 10) -> list[str]:
    """A few of the messages delivered twice, in words (topic, status, alert id, times)."""
    seen: dict[tuple[str, bytes], list[Copy]] = {}
    for c in copies:
        if not c.dup:
            seen.setdefault((c.topic, c.payload), []).append(c)
    out = []
    for (topic, _), got in seen.items():
        if len(got) > 1:
            a = got[0].alert
            gap = got[-1].at - got[0].at
            out.append(f"{topic} {a.get('status')} {a.get('id')} ×{len(got)} over {gap:.2f} s")
    return out[:limit]


TRACE_LINES = 50_000  # per app: a scenario's packets, a few MiB at most


class OfficerApp(PoliceApp):
    """A police app that also keeps every raw copy, and rides out a broker restart."""

    def __init__(self, person_id: str, *, port: int, base: str) -> None:
        super().__init__(
            person_id,
            port=port,
            base=base,
            ack_delay=0.0,
            client_id=f"faults-{person_id}-{uuid.uuid4().hex[:6]}",
            clean_session=False,
        )
        self.copies: list[Copy] = []
        self.trace: deque[str] = deque(maxlen=TRACE_LINES)
        """paho's own log of this app's packets (CONNECT, PUBLISH in, PUBACK out, ...), timed:
        whether a message missing from ``copies`` ever reached the app."""
        self.client.on_log = self._on_log

    def _on_log(self, _c: Any, _ud: Any, _level: int, line: str) -> None:
        self.trace.append(f"{time.time():.3f} {line}")

    def _on_message(self, c: Any, ud: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.copies.append(Copy(msg.topic, bytes(msg.payload), bool(msg.dup)))
        super()._on_message(c, ud, msg)

    def ack(self, alert_id: str, note: str | None = None) -> None:
        """Acknowledge; while the broker is away paho keeps the ack and sends it on reconnect."""
        try:
            super().ack(alert_id, note)
        except RuntimeError:
            with self._cond:
                self.acked.append(alert_id)


class AlertListener:
    """A persistent session on every alert topic; keeps each copy received."""

    def __init__(self, port: int, base: str) -> None:
        self.port = port
        self.topic = f"{base}/alerts/#"
        self.copies: list[Copy] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"faults-listener-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv311,
            clean_session=False,
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_connect = lambda c, *_a: c.subscribe(self.topic, qos=1)
        self.client.on_subscribe = lambda *_a: self._subscribed.set()
        self.client.on_message = self._on_message

    def _on_message(self, _c: Any, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.copies.append(Copy(msg.topic, bytes(msg.payload), bool(msg.dup)))

    def __enter__(self) -> AlertListener:
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise TimeoutError("the alert listener did not subscribe")
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def received(self) -> list[Copy]:
        """Every copy so far."""
        with self._lock:
            return list(self.copies)


@dataclass
class Officers:
    """The police apps of all officers."""

    apps: dict[str, OfficerApp] = field(default_factory=dict)

    def copies(self) -> list[Copy]:
        """Every copy every app received."""
        out: list[Copy] = []
        for app in self.apps.values():
            with app._cond:
                out.extend(app.copies)
        return out

    def raised(self) -> dict[str, str]:
        """Alert id → the officer who got it (on their own topic)."""
        got: dict[str, str] = {}
        for person, app in self.apps.items():
            with app._cond:
                for a in app.alerts:
                    if a.type == "door_breach":
                        got[a.id] = person
        return got
