"""The door-event backlog every ingest figure is measured on, and how a drain of it is measured.

One publisher queues N native door events (QoS 1, with ``seq``) at the broker for a subscriber
whose persistent session is offline; the subscriber then starts and drains them. The same
events, the same publisher and the same measurement serve the bare paho client (bench/raw.py),
isogate (bench/throughput.py) and the Node-RED peer (bench/peer.py).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from bench.rss import memory
from simulators.link import SimLink

N = 20_000
QUICK_N = 5_000
HOUSEHOLDS = 20  # the demo community of these benchmarks: doors h02, h04, … h20 are native
NATIVE_DOORS = HOUSEHOLDS // 2
TIMEOUT_S = 300.0


def door_events(base_topic: str, n: int = N) -> Iterator[tuple[str, str]]:
    """n native door events over the community's native doors (h02, h04, …), with seq.

    Each door opens, then closes, in turn: events 0–9 open doors h02…h20, 10–19 close them, …
    """
    for i in range(n):
        hh = (i % NATIVE_DOORS) * 2 + 2
        body = {"type": "door", "open": (i // NATIVE_DOORS) % 2 == 0, "seq": i}
        yield f"{base_topic}/dev/door-h{hh:02d}/event", json.dumps(body)


def openings(n: int = N) -> int:
    """How many of the first n door events are openings (each a breach under isolation)."""
    return sum(json.loads(body)["open"] for _, body in door_events("x", n))


def publish_all(port: int, base_topic: str, n: int = N) -> float:
    """Publish the n events at QoS 1 with one paho publisher; returns its rate (msg/s).

    The rate is the publisher's own ceiling here: every message acknowledged by the broker.
    """
    with SimLink("127.0.0.1", port) as pub:
        t0 = time.perf_counter()
        pub.publish_many(door_events(base_topic, n))
        return n / (time.perf_counter() - t0)


@dataclass(frozen=True, slots=True)
class Drain:
    """A drained backlog: how many events, from the first receipt to the last one done, the
    drainer's CPU meanwhile, the rate the backlog was published at, and the drainer's peak RSS.
    """

    count: int
    seconds: float
    cpu_s: float
    publish_rate: float
    peak_rss_mib: float | None = None

    @property
    def rate(self) -> float:
        """Events per second."""
        return self.count / self.seconds if self.seconds > 0 else 0.0

    @property
    def cpu_us(self) -> float:
        """CPU microseconds per event."""
        return self.cpu_s / self.count * 1e6 if self.count else 0.0


class Drainer(Protocol):
    """What drains the backlog (isogate, the peer): one process with a persistent session.

    ``startup_cpu`` is the CPU it used from launch until ready on its first start, with nothing
    queued; a drain's CPU is the restarted process's total less that, so the messages taken
    before it said it was ready are counted too.
    """

    port: int
    base_topic: str
    startup_cpu: float

    @property
    def pid(self) -> int:
        """Its process."""
        ...

    def stop(self) -> None:
        """Stop it; its session at the broker keeps queueing."""

    async def start(self) -> None:
        """Start it again and wait until it is ready."""

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system) the running process has used since it started."""
        ...

    async def wait_drained(self, n: int, timeout: float) -> tuple[float, int]:
        """Wait until n events are done: (seconds from first receipt to the last done, count)."""
        ...


async def drain_backlog(
    d: Drainer, n: int = N, while_stopped: Callable[[], Awaitable[object]] | None = None
) -> Drain:
    """Stop the drainer, queue n door events for it, start it and time the drain.

    ``while_stopped`` runs after the stop, before the backlog is queued (the bare client's own
    drain on the same broker, with the broker to itself).
    """
    d.stop()
    if while_stopped is not None:
        await while_stopped()
    rate = await asyncio.to_thread(publish_all, d.port, d.base_topic, n)
    await d.start()
    seconds, count = await d.wait_drained(n, TIMEOUT_S)
    cpu = d.cpu_seconds() - d.startup_cpu
    return Drain(count, seconds, cpu, rate, memory(d.pid)[1])
