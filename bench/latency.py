"""Door breach latency: a sensor's publish → the officer's alert topic, through mosquitto.

Run: ``make bench`` (or ``python -m bench.latency``). The gateway runs as its own process;
publisher and officer are paho clients with TCP_NODELAY in this one. Each cycle closes a door,
waits 5 ms, opens it (a breach), times the alert and acknowledges it, so the next opening is
a new alert. The limit beside it: the broker's own round trip, publisher → subscriber, timed
the same way on the same broker.
"""

from __future__ import annotations

import asyncio
import json
import queue
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench._harness import door_topic, rig
from bench.figures import Figure, at_most
from bench.raw import RAW_BASE
from simulators.link import SimLink

N = 1000
QUICK_N = 200
HOUSEHOLDS = 20
P99_TARGET_MS = 5.0
CYCLE_CPU_TARGET_MS = 3.0
GROUP = "door → officer alert, paced, QoS 1"

Message = dict[str, Any]
NATIVE_CLOSE = json.dumps({"type": "door", "open": False})
NATIVE_OPEN = json.dumps({"type": "door", "open": True})


@dataclass(frozen=True, slots=True)
class Door:
    """A door sensor's topic and its closed and open payloads."""

    topic: str
    close: str
    open: str


@dataclass(frozen=True, slots=True)
class Paced:
    """Latencies of paced breaches (ms, sorted) and the subject's CPU seconds meanwhile."""

    latencies_ms: list[float]
    cpu_s: float

    def pct(self, q: float) -> float:
        """The q-quantile (0 < q < 1) of the latencies."""
        return self.latencies_ms[min(int(q * len(self.latencies_ms)), len(self.latencies_ms) - 1)]

    @property
    def p50(self) -> float:
        """Median."""
        return statistics.median(self.latencies_ms)

    @property
    def cpu_per_cycle_ms(self) -> float:
        """The subject's CPU per cycle, in ms."""
        return self.cpu_s / len(self.latencies_ms) * 1e3


def paced(
    port: int,
    doors: Sequence[Door],
    n: int,
    *,
    listen: str,
    is_alert: Callable[[Message], bool],
    after: Callable[[SimLink, Message, Callable[[], Message]], None] | None = None,
    cpu: Callable[[], float] = lambda: 0.0,
) -> Paced:
    """n paced breaches over ``doors``, timed from the opening's publish to its alert on ``listen``.

    ``is_alert`` picks the alert out of what arrives there; ``after`` (the listener's link, the
    alert, and a function that returns the next message) runs before the next cycle, outside
    the timing; ``cpu`` reads the subject's CPU seconds.
    """
    got: queue.Queue[tuple[float, Message]] = queue.Queue()

    def next_message() -> Message:
        return got.get(timeout=10)[1]

    with SimLink("127.0.0.1", port) as pub, SimLink("127.0.0.1", port) as listener:
        listener.client.on_message = lambda _c, _u, m: got.put(
            (time.perf_counter(), json.loads(m.payload))
        )
        listener.client.subscribe(listen, qos=1)
        time.sleep(0.3)
        lat: list[float] = []
        cpu0 = cpu()
        for i in range(n):
            door = doors[i % len(doors)]
            pub.publish(door.topic, door.close)
            time.sleep(0.005)
            t0 = time.perf_counter()
            pub.publish(door.topic, door.open, wait=False)
            while True:
                t1, alert = got.get(timeout=10)
                if is_alert(alert):
                    break
            lat.append((t1 - t0) * 1000)
            if after is not None:
                after(listener, alert, next_message)
        used = cpu() - cpu0
    return Paced(sorted(lat), used)


def native_doors(base_topic: str, households: int = HOUSEHOLDS) -> list[Door]:
    """The native doors (h02, h04, …) of the demo community under this base topic."""
    return [
        Door(f"{base_topic}/dev/door-h{n:02d}/event", NATIVE_CLOSE, NATIVE_OPEN)
        for n in range(2, households + 1, 2)
    ]


def is_new_alert(m: Message) -> bool:
    """A new alert on the officer's topic (not an update of an earlier one)."""
    return m.get("status") == "open"


_runs: dict[int, tuple[Paced, Paced]] = {}


async def isogate_paced(n: int = N) -> tuple[Paced, Paced]:
    """(the broker's round trip, isogate's breach → alert), on one broker; once per run."""
    if n in _runs:
        return _runs[n]
    async with rig(HOUSEHOLDS, isolated=True) as r:
        s = r.settings
        doors = []
        for hh in range(1, HOUSEHOLDS + 1):
            topic, native = door_topic(s, hh)
            if native:
                doors.append(Door(topic, NATIVE_CLOSE, NATIVE_OPEN))
            else:
                doors.append(Door(topic, '{"contact": true}', '{"contact": false}'))

        def ack(officer: SimLink, alert: Message, next_message: Callable[[], Message]) -> None:
            officer.publish(f"{s.base_topic}/ack/p1/{alert['id']}", b"")
            while next_message().get("status") != "acknowledged":
                pass

        def measure() -> tuple[Paced, Paced]:
            broker = paced(
                r.broker.port,
                native_doors(RAW_BASE),
                n,
                listen=f"{RAW_BASE}/dev/+/event",
                is_alert=lambda m: m.get("open") is True,
            )
            gateway = paced(
                r.broker.port,
                doors,
                n,
                listen=f"{s.base_topic}/alerts/to/p1",
                is_alert=is_new_alert,
                after=ack,
                cpu=r.cpu_seconds,
            )
            return broker, gateway

        _runs[n] = await asyncio.to_thread(measure)
    return _runs[n]


async def figures(quick: bool = False) -> list[Figure]:
    """The broker's round trip as the limit, then isogate's breach → alert and its CPU."""
    n = QUICK_N if quick else N
    broker, gw = await isogate_paced(n)
    what = f"{n:,} breaches over {HOUSEHOLDS} households (zigbee2mqtt and native)"
    return [
        Figure(GROUP, "broker round trip p50", broker.p50, "ms", note="paho → mosquitto → paho"),
        Figure(GROUP, "broker round trip p99", broker.pct(0.99), "ms"),
        Figure(GROUP, "isogate p50", gw.p50, "ms", limit=broker.p50, note=what),
        Figure(
            GROUP,
            "isogate p99",
            gw.pct(0.99),
            "ms",
            limit=broker.pct(0.99),
            target=f"≤ {P99_TARGET_MS:g} ms",
            ok=at_most(gw.pct(0.99), P99_TARGET_MS),
        ),
        Figure(GROUP, "isogate max", gw.latencies_ms[-1], "ms", limit=broker.latencies_ms[-1]),
        Figure(
            GROUP,
            "isogate CPU per breach cycle",
            gw.cpu_per_cycle_ms,
            "ms",
            target=f"≤ {CYCLE_CPU_TARGET_MS:g} ms",
            ok=at_most(gw.cpu_per_cycle_ms, CYCLE_CPU_TARGET_MS),
            note="close, open → alert on 3 topics, ack → update on 3 topics; all stored",
        ),
    ]


async def main() -> None:
    broker, gw = await isogate_paced(N)
    print(
        f"door breach → officer alert, {N} breaches over {HOUSEHOLDS} households "
        f"(zigbee2mqtt and native), QoS 1, mosquitto with set_tcp_nodelay:"
    )
    for what, p in (("broker round trip", broker), ("isogate", gw)):
        print(
            f"  {what:<18} p50 {p.p50:.2f} ms   p90 {p.pct(0.9):.2f} ms   "
            f"p99 {p.pct(0.99):.2f} ms   max {p.latencies_ms[-1]:.2f} ms"
        )
    print(
        f"  gateway CPU {gw.cpu_per_cycle_ms * 1e3:.0f} µs per breach cycle (close, open → new "
        f"alert on 3 topics, ack → update on 3 topics; all stored, outbox marked)"
    )


if __name__ == "__main__":
    asyncio.run(main())
