"""The daily report (每日报告) of a large community: how long it takes, and how long it holds the
event loop.

Run: ``make bench`` (or ``python -m bench.report [sizes…]``). For each size, the scaled demo
community (``bench_site``: 20 % of households under isolation) and the day's facts as the
evening finds them: two readings for every thermometer of an isolated household. The report is
made as the gateway makes it (``gateway.care.daily.made``, in turns) while a probe task measures
the longest time the event loop went without a turn: what a door breach arriving meanwhile
would wait for, beyond its own handling.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
from datetime import timedelta

from bench._harness import bench_site
from bench.figures import Figure, at_most
from gateway.care.daily import made
from gateway.care.daily_facts import DayFacts
from gateway.clock import SystemClock
from gateway.site.stored import FREEZE_AT
from gateway.store.reports import Reading
from rules.directory import Directory
from rules.site import DeviceKind

SIZES = (10_000, 50_000)
ISOLATED = 0.2
LONGEST_TURN_MS = 50.0
"""The 50,000-household door → alert p99 target: a turn must not hold a breach longer."""


def _facts(d: Directory, hours_ago: tuple[int, ...] = (1, 10)) -> DayFacts:
    now = SystemClock().now()
    readings = [
        Reading(hh.id, dev.id, now - timedelta(hours=h))
        for hh in d.households.values()
        if hh.isolation is not None and hh.isolation.contains(now)
        for dev in hh.devices
        if dev.kind is DeviceKind.THERMOMETER
        for h in hours_ago
    ]
    return DayFacts(readings=readings)


async def measure(households: int) -> list[Figure]:
    """The report's time and the longest turn it held the loop, at one size."""
    d = Directory.build(bench_site(households, isolated=True, isolated_share=ISOLATED))
    facts = _facts(d)
    if households >= FREEZE_AT:
        gc.freeze()  # as the gateway does with a large compiled site (gateway.site.stored)
    now = SystemClock().now()
    day = now.astimezone(d.tz).date()
    longest = 0.0
    stop = False

    async def probe() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not stop:
            await asyncio.sleep(0)
            t = time.perf_counter()
            longest, last = max(longest, t - last), t

    task = asyncio.create_task(probe())
    await asyncio.sleep(0)
    t0 = time.perf_counter()
    report = await made(day, now, now, d, facts)
    took = time.perf_counter() - t0
    stop = True
    await task
    group = f"daily report @ {households:,} households"
    note = f"{len(report.rows):,} rows, {len(facts.readings):,} readings that day"
    return [
        Figure(group, "made in", took, "s", note=note),
        Figure(
            group,
            "longest the event loop waited",
            1000 * longest,
            "ms",
            target=f"≤ {LONGEST_TURN_MS:g} ms",
            ok=at_most(1000 * longest, LONGEST_TURN_MS),
            note="a probe task's longest gap between two turns while the report was made",
        ),
    ]


async def figures(sizes: tuple[int, ...] = SIZES) -> list[Figure]:
    """Each size in turn."""
    return [f for n in sizes for f in await measure(n)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("sizes", nargs="*", type=int, help="households (default: %(default)s)")
    args = parser.parse_args()
    for f in await figures(tuple(args.sizes) or SIZES):
        target = f"  target {f.target}: {'ok' if f.ok else 'NOT MET'}" if f.target else ""
        print(f"{f.group}: {f.name} {f.value:,.2f} {f.unit}{target}  ({f.note})")


if __name__ == "__main__":
    asyncio.run(main())
