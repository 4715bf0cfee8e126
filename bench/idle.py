"""Idle CPU: the gateway watching a large community while nothing happens.

Run: ``make bench`` (or ``python -m bench.idle``). For each size, the demo community (a door
sensor and a thermometer per household, all under isolation) is stored, ``isogate run`` started
as its own process, and once it answers healthy and has settled, its CPU time is read from
/proc over a stretch in which no device publishes anything. The time-driven rules run all the
while (a tick a second); they should cost what is due, not what exists.

The figure is the gateway's CPU seconds over wall seconds, in percent of one core. Alerts the
gateway raised during the stretch (a reading window that happened to end, say) are counted from
its metrics and named in the note: that is due work, not idleness.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from bench._harness import Rig, rig
from bench.figures import Figure, at_most

SIZES = (2_000, 10_000, 50_000)
SETTLE_S = 10.0  # after healthy: the first ticks, the first outbox scan, the HTTP server warm
QUIET = 0.05  # then settled once 2 s pass with less than this share of a core used ...
QUIET_WITHIN_S = 60.0  # ... or after this long (a gateway that never quiets down is measured)
IDLE_S = 30.0
TARGET_PCT = 2.0
GROUP = "idle CPU (no traffic)"


async def alerts_raised(port: int) -> float:
    """Alerts raised so far, by the gateway's metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("isogate_alerts_raised_total{")
    )


async def settled(r: Rig) -> None:
    """Wait until the gateway's start-up work (the first tick looks at everything) is done."""
    give_up = time.monotonic() + QUIET_WITHIN_S
    while time.monotonic() < give_up:
        cpu = r.cpu_seconds()
        await asyncio.sleep(2.0)
        if r.cpu_seconds() - cpu < 2.0 * QUIET:
            return


async def idle(households: int, idle_s: float = IDLE_S) -> Figure:
    """Start a gateway with ``households`` and measure its CPU over ``idle_s`` of no traffic."""
    name = f"{households:,} households"
    # Loading grows with the site; allow about a minute per 10,000 households and then some.
    within = 60.0 + households / 10_000 * 60.0
    began = time.monotonic()
    try:
        async with rig(households, isolated=True, healthy_within=within) as r:
            load_s = time.monotonic() - began
            await asyncio.sleep(SETTLE_S)
            await settled(r)
            raised0 = await alerts_raised(r.settings.http_port)
            cpu0, t0 = r.cpu_seconds(), time.monotonic()
            await asyncio.sleep(idle_s)
            cpu1, t1 = r.cpu_seconds(), time.monotonic()
            raised = await alerts_raised(r.settings.http_port) - raised0
    except TimeoutError:
        note = f"the gateway did not answer healthy within {within:.0f} s of starting"
        return Figure(GROUP, name, None, "% of a core", target=f"≤ {TARGET_PCT:g} %", note=note)
    pct = 100.0 * (cpu1 - cpu0) / (t1 - t0)
    note = f"{cpu1 - cpu0:.2f} CPU s over {t1 - t0:.0f} s; store + start to healthy {load_s:.0f} s"
    if raised:
        note += f"; {raised:.0f} alerts raised meanwhile (due work)"
    return Figure(
        GROUP,
        name,
        round(pct, 2),
        "% of a core",
        target=f"≤ {TARGET_PCT:g} %",
        ok=at_most(pct, TARGET_PCT),
        note=note,
    )


async def figures(sizes: tuple[int, ...] = SIZES) -> list[Figure]:
    """Idle CPU at each size, one gateway at a time."""
    return [await idle(n) for n in sizes]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("sizes", nargs="*", type=int, help="households (default: %(default)s)")
    args = parser.parse_args()
    sizes = tuple(args.sizes) or SIZES
    print(f"gateway CPU over {IDLE_S:.0f} s with no traffic, once settled after start:")
    for n in sizes:
        f = await idle(n)
        value = "—" if f.value is None else f"{f.value:.2f} %"
        verdict = "" if f.ok is None else ("  ok" if f.ok else "  over target")
        print(f"  {f.name:>20}: {value:>8} of a core (target {f.target}){verdict}   {f.note}")


if __name__ == "__main__":
    asyncio.run(main())
