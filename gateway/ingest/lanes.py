"""Two lanes for what the broker delivers: alert-critical first, the rest behind, both bounded.

A flood on topics nobody binds (a chatty bridge, every phone a BLE gateway hears, garbage)
must not hold back a door opening or an officer's acknowledgement. Messages from bound devices
and acknowledgements go in the ``critical`` lane and are taken first; everything else waits in
``bulk``. Together the lanes hold at most ``max_messages`` messages and ``max_bytes`` of
payload: past that the owner is told to stop reading the broker's socket (the broker keeps
the rest, and its in-flight window stops it sending more) until the lanes drain to half.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from enum import StrEnum

from devices.events import Protocol, address_key
from gateway import metrics
from gateway.ingest.mqtt import Inbound
from rules.directory import Directory


class Lane(StrEnum):
    """Which queue a message waits in."""

    CRITICAL = "critical"
    BULK = "bulk"


class Sorter:
    """Which lane a topic waits in: acknowledgements and bound devices' own topics are critical.

    Bound devices are looked up in the site's own indexes as each message arrives (about a
    microsecond): a set of every bound device's topics was 17 MiB at 50,000 households, and
    was rebuilt on each site revision.
    """

    def __init__(self, ack_prefix: str, base_topic: str, z2m_base: str) -> None:
        self.ack_prefix = ack_prefix
        self.native_prefix = f"{base_topic}/dev/"
        self.z2m_prefix = f"{z2m_base}/"

    def lane(self, topic: str, directory: Directory) -> Lane:
        """The lane of a message on ``topic`` with this site."""
        if topic.startswith(self.ack_prefix) or self.bound(topic, directory):
            return Lane.CRITICAL
        return Lane.BULK

    def bound(self, topic: str, d: Directory) -> bool:
        """Whether ``topic`` is a bound device's events or status."""
        if topic.startswith(self.native_prefix):
            dev_id, _, what = topic[len(self.native_prefix) :].partition("/")
            b = d.device(dev_id) if what in ("event", "status") else None
            return b is not None and b.device.protocol is Protocol.NATIVE
        if topic.startswith(self.z2m_prefix):
            name = topic[len(self.z2m_prefix) :]
            if d.at(Protocol.ZIGBEE2MQTT, name) is not None:
                return True
            head, _, tail = name.rpartition("/")
            return tail == "availability" and d.at(Protocol.ZIGBEE2MQTT, head) is not None
        if "/BTtoMQTT/" in topic:
            mac = topic.rpartition("/")[2]
            return d.at(Protocol.BLE, address_key(Protocol.BLE, mac)) is not None
        return False


class Lanes:
    """The two bounded FIFO queues between the MQTT session and the ingest task."""

    def __init__(
        self,
        *,
        max_messages: int,
        max_bytes: int,
        pause: Callable[[], None],
        resume: Callable[[], None],
        now: Callable[[], float],
    ) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self._pause = pause
        self._resume = resume
        self._now = now
        self._queues: dict[Lane, deque[tuple[float, Inbound]]] = {
            Lane.CRITICAL: deque(),
            Lane.BULK: deque(),
        }
        self._count = 0
        self._bytes = 0
        self._paused = False
        self._ready = asyncio.Event()
        self._gauges = {lane: metrics.INGEST_QUEUED.labels(lane.value) for lane in Lane}

    def __len__(self) -> int:
        return self._count

    @property
    def size_bytes(self) -> int:
        """The payload bytes waiting in both lanes."""
        return self._bytes

    @property
    def paused(self) -> bool:
        """Whether reading from the broker is paused because the lanes are full."""
        return self._paused

    def put(self, lane: Lane, message: Inbound) -> None:
        """Queue a message (never refuses: the bound is kept by pausing the reader)."""
        self._queues[lane].append((self._now(), message))
        self._count += 1
        self._bytes += len(message.payload)
        self._ready.set()
        if not self._paused and (self._count >= self.max_messages or self._bytes >= self.max_bytes):
            self._paused = True
            self._pause()

    async def take(self, limit: int) -> tuple[Lane, list[Inbound], float]:
        """The next batch: from the critical lane while it has any, else from bulk.

        Returns the lane, up to ``limit`` messages in arrival order, and when the oldest of them
        was queued (in ``now()``'s time).
        """
        while not self._count:
            self._ready.clear()
            await self._ready.wait()
        lane = Lane.CRITICAL if self._queues[Lane.CRITICAL] else Lane.BULK
        queue = self._queues[lane]
        oldest = queue[0][0]
        batch: list[Inbound] = []
        while queue and len(batch) < limit:
            batch.append(queue.popleft()[1])
        self._count -= len(batch)
        self._bytes -= sum(len(m.payload) for m in batch)
        # The gauges are set per batch, not per message: a label look-up costs microseconds.
        for each, waiting in self._queues.items():
            self._gauges[each].set(len(waiting))
        if self._paused and (
            self._count <= self.max_messages // 2 and self._bytes <= self.max_bytes // 2
        ):
            self._paused = False
            self._resume()
        return lane, batch, oldest

    def oldest(self) -> float | None:
        """When the oldest waiting message was queued; None when both lanes are empty."""
        heads = [q[0][0] for q in self._queues.values() if q]
        return min(heads) if heads else None
