"""A publisher that numbers and keeps every message, so that published vs stored is exact.

:class:`CountingLink` stands where a :class:`~simulators.link.SimLink` does for the device
simulators (it has the same ``publish``), so any simulator or load generator that publishes
through a link can be counted: it adds ``"n": <number>`` to every JSON object it carries, which
makes each message unique, and keeps the message's fingerprint (the one the gateway stores with
each event, :func:`gateway.ingest.arrival.digest`) with what the message was meant to be.

It never blocks on the broker: messages are handed to paho (QoS 1, kept and sent again across a
reconnect) and their PUBACKs are checked at the end. A device link is at least once: a message
in flight when the connection drops is sent again, and the broker may pass both copies on. Those
messages are noted (``resent``) so that a copy stored twice for that reason is told apart from a
duplicate the gateway made.

:func:`drive` plays the steps of :func:`bench.faults.community.plan` in real time through door
sensor simulators. Another generator (``simulators/loadgen.py``) can take its place: give it the
:class:`CountingLink` as its link and tag its messages with :meth:`CountingLink.expect`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from bench.faults.community import Action, Step, garbage, household_id, marker, native
from gateway.ingest.arrival import digest
from simulators.door import DoorSensor
from simulators.link import SimLink


@dataclass(slots=True)
class Sent:
    """One message handed to the broker."""

    n: int
    topic: str
    digest: str
    kind: str  # event | breach | garbage
    household: str | None  # for garbage: its marker
    info: mqtt.MQTTMessageInfo


def _confirmed(info: mqtt.MQTTMessageInfo) -> bool:
    # paho's is_published() raises for a message queued while disconnected (rc NO_CONN),
    # although paho still sends it after the reconnect; the flag itself says what we need.
    with info._condition:
        return bool(info._published)


@dataclass
class Ledger:
    """Everything published, by fingerprint; thread-safe."""

    sent: list[Sent] = field(default_factory=list)
    resent: set[str] = field(default_factory=set)
    disconnects: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: Sent) -> None:
        with self.lock:
            self.sent.append(item)

    def on_disconnect(self, *_args: Any) -> None:
        """paho's callback: what is unacknowledged now may reach the broker twice."""
        with self.lock:
            self.disconnects += 1
            self.resent |= {s.digest for s in self.sent if not _confirmed(s.info)}

    def unconfirmed(self) -> list[Sent]:
        """Messages the broker has not acknowledged (yet)."""
        with self.lock:
            return [s for s in self.sent if not _confirmed(s.info)]

    def of_kind(self, *kinds: str) -> list[Sent]:
        """The messages of these kinds that the broker acknowledged."""
        with self.lock:
            return [s for s in self.sent if s.kind in kinds and _confirmed(s.info)]


class CountingLink:
    """A device link that numbers every message and keeps it in the ledger."""

    def __init__(self, host: str, port: int, ledger: Ledger) -> None:
        self.ledger = ledger
        self.link = SimLink(host, port)
        self.link.client.on_disconnect = ledger.on_disconnect
        # Back within a second or two of a restarted broker, as a device's firmware would be.
        self.link.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self._n = 0
        self._kind = "event"
        self._household: str | None = None

    def __enter__(self) -> CountingLink:
        self.link.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.link.__exit__(None, None, None)

    def expect(self, kind: str, household: str | None = None) -> None:
        """What the next messages are: ``event``, ``breach`` (an opening that must alert) or
        ``garbage``, and whose."""
        self._kind, self._household = kind, household

    def publish(
        self, topic: str, payload: bytes | str, *, qos: int = 1, retain: bool = False, **_: Any
    ) -> mqtt.MQTTMessageInfo:
        """Number the message and hand it to paho; never waits for the broker."""
        self._n += 1
        body = payload.encode() if isinstance(payload, str) else payload
        if self._kind != "garbage":
            doc = json.loads(body)
            if isinstance(doc, dict):
                body = json.dumps({**doc, "n": self._n}).encode()
        info = self.link.client.publish(topic, body, qos=qos, retain=retain)
        self.ledger.add(
            Sent(self._n, topic, digest(topic, body), self._kind, self._household, info)
        )
        return info

    def wait_confirmed(self, timeout: float) -> int:
        """Wait for the broker's PUBACKs; returns how many are still missing."""
        deadline = time.monotonic() + timeout
        while (missing := len(self.ledger.unconfirmed())) and time.monotonic() < deadline:
            time.sleep(0.2)
        return missing


def drive(
    link: CountingLink,
    steps: Iterable[Step],
    *,
    base: str,
    z2m: str,
    households: int,
    stop: threading.Event,
) -> None:
    """Play ``steps`` in real time through door sensors on ``link`` (until done or ``stop``)."""
    sensors: dict[int, DoorSensor] = {}

    def sensor(i: int) -> DoorSensor:
        if i not in sensors:
            hid = household_id(i)
            sensors[i] = (
                DoorSensor(link, f"door-{hid}", "native", base_topic=base)  # type: ignore[arg-type]
                if native(i)
                else DoorSensor(link, f"{hid}_door", "zigbee2mqtt", z2m_base=z2m)  # type: ignore[arg-type]
            )
        return sensors[i]

    t0 = time.monotonic()
    for step in steps:
        if stop.is_set():
            return
        wait = t0 + step.at - time.monotonic()
        if wait > 0.002:
            time.sleep(wait)
        if step.action is Action.GARBAGE:
            link.expect("garbage", marker(step.index))
            link.publish(*garbage(step.index, base, z2m, households))
            continue
        link.expect("breach" if step.breach else "event", household_id(step.index))
        door = sensor(step.index)
        if step.action is Action.HEARTBEAT:
            door.heartbeat()
        elif native(step.index):
            # Native sensors stamp their own time: an opening queued through an outage is
            # still judged at the moment it happened.
            door.report(step.action is Action.OPEN, ts=time.time())
        else:
            door.report(step.action is Action.OPEN)
