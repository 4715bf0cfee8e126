"""The hot path's cost on the gateway process: CPU per breach cycle and per stored event.

Run: ``make bench`` (or ``python -m bench.hotpath``). CPU is the gateway process's user +
system time from /proc (every thread: the event loop, the database's, paho's), so the figures
hold on a busy machine where wall-clock rates do not.

- breach cycles, paced at 100 door events/s over the community's households: a door closes,
  10 ms later it opens (a breach: the alert goes to the all-alerts topic, the officer's and the
  watcher's), the officer acknowledges on their ack topic and the update goes out again; every
  step stored before it is announced. Reported: CPU per cycle, and door → officer's alert
  latency (publish to receipt, QoS 1, TCP_NODELAY on both sides).
- backlog drain: door events outside the isolation period (stored, no alerts) queued at the
  broker while the gateway is stopped, then drained on start. Reported: CPU per stored event
  and the rate (first receipt to the last commit).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import signal
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx

from bench._harness import Rig, door_topic, rig
from bench.figures import Figure, at_most
from gateway.store import Store
from simulators.link import SimLink
from simulators.process import start_gateway

HOUSEHOLDS = 20
CYCLES = 1000
PACE_S = 0.020  # one cycle (two door events) every 20 ms: 100 door events/s
OPEN_AFTER_S = 0.010
BACKLOG = 20_000
GROUP = "hot path (gateway CPU from /proc)"


def _cycle_messages(r: Rig, i: int) -> tuple[str, bytes, bytes]:
    topic, native = door_topic(r.settings, i % HOUSEHOLDS + 1)
    if native:
        return topic, b'{"type": "door", "open": false}', b'{"type": "door", "open": true}'
    return topic, b'{"contact": true}', b'{"contact": false}'


def breach_cycles(r: Rig, n: int = CYCLES) -> tuple[list[float], float]:
    """``n`` paced breach cycles; the door → alert latencies (ms) and gateway CPU s per cycle."""
    s = r.settings
    got: queue.Queue[tuple[float, dict[str, object]]] = queue.Queue()
    with (
        SimLink("127.0.0.1", r.broker.port) as door,
        SimLink("127.0.0.1", r.broker.port) as officer,
    ):
        officer.client.on_message = lambda _c, _u, m: got.put(
            (time.perf_counter(), json.loads(m.payload))
        )
        officer.client.subscribe(f"{s.base_topic}/alerts/to/p1", qos=1)
        time.sleep(0.5)
        latencies: list[float] = []
        cpu0 = r.cpu_seconds()
        start = time.perf_counter()
        for i in range(n):
            due = start + i * PACE_S
            time.sleep(max(0.0, due - time.perf_counter()))
            topic, closed, opened = _cycle_messages(r, i)
            door.publish(topic, closed, wait=False)
            time.sleep(max(0.0, due + OPEN_AFTER_S - time.perf_counter()))
            t0 = time.perf_counter()
            door.publish(topic, opened, wait=False)
            t1, alert = got.get(timeout=10)
            latencies.append((t1 - t0) * 1000)
            officer.publish(f"{s.base_topic}/ack/p1/{alert['id']}", b"", wait=False)
            while got.get(timeout=10)[1].get("status") != "acknowledged":
                pass
        cpu = r.cpu_seconds() - cpu0
    return latencies, cpu / n


def _backlog(base_topic: str) -> Iterator[tuple[str, bytes]]:
    """BACKLOG native door events over the community's native doors, each with a seq."""
    natives = [n for n in range(1, HOUSEHOLDS + 1) if n % 2 == 0]
    for i in range(BACKLOG):
        n = natives[i % len(natives)]
        body = {"type": "door", "open": (i // len(natives)) % 2 == 0, "seq": i}
        yield f"{base_topic}/dev/door-h{n:02d}/event", json.dumps(body).encode()


async def _answering(port: int, timeout: float = 60) -> None:
    """Wait until the gateway's API answers at all (503 while the broker does not)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                await client.get(f"http://127.0.0.1:{port}/healthz")
                return
            await asyncio.sleep(0.05)
    raise TimeoutError(f"gateway on port {port} did not answer in {timeout}s")


async def drain(r: Rig) -> tuple[float, float]:
    """Stop the gateway, queue the backlog at the broker, start it: (events/s, CPU s/event).

    The broker is held (SIGSTOP) while the gateway starts, so that the CPU counted from its
    release is the drain's alone, not the start's.
    """
    s = r.settings
    r.stop()

    def publish() -> None:
        with SimLink("127.0.0.1", r.broker.port) as pub:
            pub.publish_many(_backlog(s.base_topic))

    await asyncio.to_thread(publish)
    assert r.broker.proc is not None
    r.broker.proc.send_signal(signal.SIGSTOP)
    try:
        r.proc = start_gateway(s)
        await _answering(s.http_port)
        cpu0 = r.cpu_seconds()
    finally:
        r.broker.proc.send_signal(signal.SIGCONT)
    async with Store.open(s.db_url) as store:
        deadline = time.perf_counter() + 300
        while await store.count_events() < BACKLOG and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        done = datetime.now(UTC)
        first, _, stored = await store.receipt_span()
    cpu = r.cpu_seconds() - cpu0
    return stored / (done - first).total_seconds(), cpu / stored


async def figures() -> list[Figure]:
    """The hot path's figures (see the module's docstring)."""
    async with rig(HOUSEHOLDS, isolated=True) as r:
        latencies, cycle_cpu = await asyncio.to_thread(breach_cycles, r)
    async with rig(HOUSEHOLDS, isolated=False) as r:
        rate, event_cpu = await drain(r)
    latencies.sort()
    p99 = latencies[int(0.99 * len(latencies))]
    paced = f"{CYCLES} breach cycles at 100 door events/s, {HOUSEHOLDS} households"
    return [
        Figure(
            GROUP,
            "CPU per breach cycle",
            cycle_cpu * 1e6,
            "µs",
            None,
            "≤ 3,000 µs",
            at_most(cycle_cpu * 1e6, 3000),
            paced,
        ),
        Figure(GROUP, "door → officer alert p50", statistics.median(latencies), "ms", note=paced),
        Figure(
            GROUP, "door → officer alert p99", p99, "ms", None, "≤ 5 ms", at_most(p99, 5), paced
        ),
        Figure(
            GROUP,
            "CPU per stored event, backlog drain",
            event_cpu * 1e6,
            "µs",
            note=f"{BACKLOG} door events queued while the gateway was down; no alerts",
        ),
        Figure(GROUP, "backlog drain", rate, "events/s", note="first receipt to the last commit"),
    ]


async def main() -> None:
    for f in await figures():
        value = "—" if f.value is None else f"{f.value:,.2f}"
        target = f"  target {f.target}: {'ok' if f.ok else 'NOT MET'}" if f.target else ""
        print(f"{f.name:40s} {value:>12} {f.unit:9s}{target}  ({f.note})")


if __name__ == "__main__":
    asyncio.run(main())
