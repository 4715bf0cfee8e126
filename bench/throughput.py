"""Ingest throughput: how fast door events are stored (and alerted) when they pour in.

Run: ``make bench`` (or ``python -m bench.throughput``). Native door events at QoS 1
(bench/backlog.py), against the limit measured on the same broker in the same run (bench/raw.py).
- live: one publisher with a window of 2,000 unacknowledged messages while the gateway runs;
  publisher, broker and gateway share the machine, so the slowest of them sets the figure.
- backlog: the same events queued at the broker while the gateway is stopped, then drained on
  start: the gateway's own ceiling (first receipt, from the event log, to all committed).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from bench import raw
from bench._harness import Rig, rig
from bench.backlog import HOUSEHOLDS, QUICK_N, Drain, N, drain_backlog, publish_all
from bench.figures import Figure, at_least
from gateway.store import Store

GROUP = "ingest: isogate, native door events, QoS 1"
BACKLOG_TARGET = 0.8  # of the bare client's drain, measured in the same run
LIVE_TARGET = 0.9  # of the publisher's own rate: the publisher, not the gateway, is the bound


class IsogateDrainer:
    """The gateway of a rig as a :class:`bench.backlog.Drainer`; counts events in its store."""

    def __init__(self, r: Rig) -> None:
        self.rig = r
        self.port = r.broker.port
        self.base_topic = r.settings.base_topic
        self.startup_cpu = r.cpu_seconds()  # the rig has just seen it healthy

    @property
    def pid(self) -> int:
        """The gateway process."""
        return self.rig.pid

    def stop(self) -> None:
        """SIGTERM; the session keeps queueing."""
        self.rig.stop()

    async def start(self) -> None:
        """Start and wait until healthy."""
        await self.rig.start()

    def cpu_seconds(self) -> float:
        """From /proc."""
        return self.rig.cpu_seconds()

    async def wait_drained(self, n: int, timeout: float) -> tuple[float, int]:
        """First receipt in the event log → the moment n events were seen committed."""
        async with Store.open(self.rig.settings.db_url) as store:
            deadline = time.perf_counter() + timeout
            while await store.count_events() < n and time.perf_counter() < deadline:
                await asyncio.sleep(0.02)
            done = datetime.now(UTC)
            first, _, stored = await store.receipt_span()
        return (done - first).total_seconds(), stored


_backlogs: dict[tuple[bool, int], Drain] = {}


async def isogate_backlog(
    isolated: bool, n: int = N, *, limit_for: list[Drain] | None = None
) -> Drain:
    """isogate draining the backlog, in or outside isolation; once per run (bench.peer reuses it).

    With ``limit_for``, the bare client first drains the same backlog on the same broker while
    the gateway is stopped, and its figures are appended there.
    """
    key = (isolated, n)
    if key not in _backlogs or limit_for is not None:
        async with rig(HOUSEHOLDS, isolated=isolated) as r:
            d = IsogateDrainer(r)

            async def bare() -> None:
                if limit_for is not None:
                    limit_for.append(await asyncio.to_thread(raw.measure, d.port, n))

            _backlogs[key] = await drain_backlog(d, n, bare)
    return _backlogs[key]


async def live(isolated: bool, n: int = N) -> tuple[Drain, int, int]:
    """isogate storing n events as they are published: (drain, alerts, their repeat counts)."""
    async with rig(HOUSEHOLDS, isolated=isolated) as r:
        s = r.settings
        cpu0 = r.cpu_seconds()
        t0 = time.perf_counter()
        rate = await asyncio.to_thread(publish_all, r.broker.port, s.base_topic, n)
        async with Store.open(s.db_url) as store:
            while await store.count_events() < n and time.perf_counter() - t0 < 300:
                await asyncio.sleep(0.05)
            stored = await store.count_events()
            alerts = await store.list_alerts(limit=1000)
        elapsed = time.perf_counter() - t0
        cpu = r.cpu_seconds() - cpu0
    return Drain(stored, elapsed, cpu, rate), len(alerts), sum(a.count for a in alerts)


def _what(isolated: bool) -> str:
    return "breach repeats, each published" if isolated else "stored, no alerts"


async def figures(quick: bool = False) -> list[Figure]:
    """The limit (bare client, same broker), then isogate live and backlog, with and without
    breaches."""
    n = QUICK_N if quick else N
    limits: list[Drain] = []
    stored = await isogate_backlog(False, n, limit_for=limits)
    bare = limits[0]
    breaches = await isogate_backlog(True, n)
    out = raw.limit_figures(bare, n)
    for isolated in (False, True):
        d, _, _ = await live(isolated, n)
        out.append(
            Figure(
                GROUP,
                f"live, {_what(isolated)}",
                d.rate,
                "events/s",
                limit=bare.publish_rate,
                target=f"≥ {LIVE_TARGET * 100:.0f} % of limit",
                ok=at_least(d.rate, LIVE_TARGET * bare.publish_rate),
                note=f"publisher meanwhile {d.publish_rate:,.0f}/s; CPU {d.cpu_us:.0f} µs/event",
            )
        )
    for isolated, d in ((False, stored), (True, breaches)):
        target = None if isolated else f"≥ {BACKLOG_TARGET * 100:.0f} % of limit"
        out += [
            Figure(
                GROUP,
                f"backlog drain, {_what(isolated)}",
                d.rate,
                "events/s",
                limit=bare.rate,
                target=target,
                ok=None if isolated else at_least(d.rate, BACKLOG_TARGET * bare.rate),
                note=f"{d.count:,} of {n:,} in {d.seconds:.2f} s",
            ),
            Figure(
                GROUP,
                f"backlog CPU, {_what(isolated)}",
                d.cpu_us,
                "µs/event",
                limit=bare.cpu_us,
                note=f"gateway process; peak RSS {d.peak_rss_mib:.0f} MiB",
            ),
        ]
    return out


async def main() -> None:
    for f in await figures():
        limit = f" (limit {f.limit:,.0f})" if f.limit is not None else ""
        print(f"{f.group} — {f.name}: {f.value:,.0f} {f.unit}{limit}  {f.note}")


if __name__ == "__main__":
    asyncio.run(main())
