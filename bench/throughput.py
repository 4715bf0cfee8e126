"""Ingest throughput: how fast door events are stored (and alerted) when they pour in.

Run: ``make bench`` (or ``python -m bench.throughput``). Native door events at QoS 1.
- live: one publisher with a window of 2,000 unacknowledged messages while the gateway runs;
  publisher, broker and gateway share the machine, so the slowest of them sets the figure.
- backlog: the same events queued at the broker while the gateway is stopped, then drained on
  start: the gateway's own ceiling (first to last receipt, from the event log).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from bench._harness import rig
from gateway.store import Store
from simulators.link import SimLink

N = 20_000
HOUSEHOLDS = 20


def door_events(base_topic: str) -> Iterator[tuple[str, str]]:
    """N native door events over the community's native doors (h02, h04, …), with seq."""
    for i in range(N):
        n = (i % (HOUSEHOLDS // 2)) * 2 + 2
        body = {"type": "door", "open": (i // (HOUSEHOLDS // 2)) % 2 == 0, "seq": i}
        yield f"{base_topic}/dev/door-h{n:02d}/event", json.dumps(body)


def publish_all(port: int, base_topic: str) -> float:
    """Publish the N events at QoS 1; returns the publish rate."""
    with SimLink("127.0.0.1", port) as pub:
        t0 = time.perf_counter()
        pub.publish_many(door_events(base_topic))
        return N / (time.perf_counter() - t0)


async def run(isolated: bool) -> None:
    async with rig(HOUSEHOLDS, isolated=isolated) as r:
        s = r.settings
        cpu0 = r.cpu_seconds()
        t0 = time.perf_counter()
        rate = await asyncio.to_thread(publish_all, r.broker.port, s.base_topic)
        async with Store.open(s.db_url) as store:
            while await store.count_events() < N:
                await asyncio.sleep(0.05)
                if time.perf_counter() - t0 > 300:
                    break
            stored = await store.count_events()
            alerts = await store.list_alerts(limit=1000)
        elapsed = time.perf_counter() - t0
        cpu = r.cpu_seconds() - cpu0
    what = (
        "under isolation (every opening a breach repeat, on the all-alerts topic)"
        if isolated
        else "outside isolation (stored, no alerts)"
    )
    print(f"{N} door events {what}:")
    print(
        f"  stored {stored} in {elapsed:.2f} s → {stored / elapsed:,.0f} events/s "
        f"(publisher alone {rate:,.0f}/s); gateway CPU {cpu / N * 1e6:.0f} µs/event; "
        f"alerts {len(alerts)} with counts {sum(a.count for a in alerts)}"
    )


async def backlog(isolated: bool) -> None:
    async with rig(HOUSEHOLDS, isolated=isolated) as r:
        s = r.settings
        r.stop()
        await asyncio.to_thread(publish_all, r.broker.port, s.base_topic)
        await r.start()
        cpu0 = r.cpu_seconds()
        async with Store.open(s.db_url) as store:
            deadline = time.perf_counter() + 300
            while await store.count_events() < N and time.perf_counter() < deadline:
                await asyncio.sleep(0.02)
            done = datetime.now(UTC)
            first, _, stored = await store.receipt_span()
        cpu = r.cpu_seconds() - cpu0
    what = "breach repeats, each published" if isolated else "stored, no alerts"
    # From the first message received to the moment all were seen committed.
    span = (done - first).total_seconds()
    print(
        f"backlog of {N} door events drained ({what}): {stored} in {span:.2f} s → "
        f"{stored / span:,.0f} events/s; gateway CPU {cpu / N * 1e6:.0f} µs/event"
    )


async def main() -> None:
    await run(isolated=False)
    await run(isolated=True)
    await backlog(isolated=False)
    await backlog(isolated=True)


if __name__ == "__main__":
    asyncio.run(main())
