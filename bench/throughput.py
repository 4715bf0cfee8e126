"""Ingest throughput: how fast door events are stored (and alerted) when they pour in.

Run: ``make bench`` (or ``python -m bench.throughput``). Native door events at QoS 1 from one
publisher with a window of 2,000 unacknowledged messages; the figure is events stored in
SQLite per second, publish of the first to commit of the last.
"""

from __future__ import annotations

import asyncio
import json
import time

from bench._harness import rig
from gateway.store import Store
from simulators.link import SimLink

N = 20_000
HOUSEHOLDS = 20


async def run(isolated: bool) -> None:
    async with rig(HOUSEHOLDS, isolated=isolated) as r:
        s = r.settings
        with SimLink("127.0.0.1", r.broker.port) as pub:
            cpu0 = r.cpu_seconds()
            t0 = time.perf_counter()
            pending = []
            for i in range(N):
                n = (i % (HOUSEHOLDS // 2)) * 2 + 2  # the native doors: h02, h04, …
                body = {"type": "door", "open": (i // (HOUSEHOLDS // 2)) % 2 == 0, "seq": i}
                pending.append(
                    pub.publish(
                        f"{s.base_topic}/dev/door-h{n:02d}/event", json.dumps(body), wait=False
                    )
                )
                if len(pending) >= 2000:
                    pending.pop(0).wait_for_publish(30)
            for info in pending:
                info.wait_for_publish(30)
            t_pub = time.perf_counter() - t0
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
        "under isolation (every opening a breach repeat, 3 alert publishes)"
        if isolated
        else "outside isolation (stored, no alerts)"
    )
    print(f"{N} door events {what}:")
    print(
        f"  stored {stored} in {elapsed:.2f} s → {stored / elapsed:,.0f} events/s "
        f"(publisher alone {N / t_pub:,.0f}/s); gateway CPU {cpu / N * 1e6:.0f} µs/event; "
        f"alerts {len(alerts)} with counts {sum(a.count for a in alerts)}"
    )


async def main() -> None:
    await run(isolated=False)
    await run(isolated=True)


if __name__ == "__main__":
    asyncio.run(main())
