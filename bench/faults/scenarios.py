"""The fault scenarios, and how one is run: load, fault, drain, count.

Every scenario runs the same load (:mod:`bench.faults.community`) against a fresh world
(:class:`bench.faults.scene.Scene`); its fault strikes ``fault_at`` seconds in, while the load
goes on. After the load, the suite waits until everything published has been stored and every
alert delivered (or ``drain_s`` ran out), then a few seconds more for late duplicates, and counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bench.faults.community import plan
from bench.faults.count import Tally, tally
from bench.faults.injectors import hold_database_lock
from bench.faults.publisher import CountingLink, Ledger, drive
from bench.faults.scene import Options, Scene

log = logging.getLogger("bench.faults")

LOCK_S = 30.0
DISK_FULL_S = 20.0
HOOKS_DOWN_S = 30.0
SETTLE_S = 5.0  # after everything arrived: time for a late duplicate to show

Fault = Callable[[Scene], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Scenario:
    """A fault and the load it runs under."""

    name: str
    title: str
    seconds: float  # of load
    fault: Fault
    hooks: tuple[str, ...] = ("hook",)
    garbage: float = 0.0
    small_disk: bool = False


async def no_fault(_scene: Scene) -> str:
    """The load alone: what every other row is read against."""
    return "load only"


async def kill_twice(scene: Scene) -> str:
    """SIGKILL the gateway, restart it; again 15 s later."""
    notes = []
    for t in (scene.opts.fault_at, scene.opts.fault_at + 15):
        await scene.at(t)
        killed = scene.since_start()
        await asyncio.to_thread(scene.gateway.kill)
        await asyncio.sleep(1.0)
        await scene.gateway.start()
        notes.append(
            f"killed at {killed:.0f} s, healthy {scene.since_start() - killed:.1f} s later"
        )
    return "; ".join(notes)


async def restart_broker(scene: Scene) -> str:
    """Stop mosquitto cleanly (it saves its persistence), start it 3 s later."""
    await scene.at(scene.opts.fault_at)
    t = scene.since_start()
    await asyncio.to_thread(scene.broker.stop)
    await asyncio.sleep(3.0)
    await asyncio.to_thread(scene.broker.start)
    return f"mosquitto stopped at {t:.0f} s for {scene.since_start() - t:.1f} s"


async def lock_database(scene: Scene) -> str:
    """Another process holds BEGIN EXCLUSIVE on the SQLite file for 30 s."""
    await scene.at(scene.opts.fault_at)
    held = await hold_database_lock(scene.db, LOCK_S)
    return f"BEGIN EXCLUSIVE held {held:.1f} s by another process"


async def break_webhooks(scene: Scene) -> str:
    """One webhook answers 500, another hangs, for 30 s; then both mend."""
    await scene.at(scene.opts.fault_at)
    failing, hanging = scene.hooks["hook-500"], scene.hooks["hook-hang"]
    failing.fail_until_cleared(500)
    hanging.hang()
    await asyncio.sleep(HOOKS_DOWN_S)
    failing.clear()
    hanging.clear()
    refused = sum(r.answered == 500 for r in failing.requests)
    held = sum(r.answered == 0 for r in hanging.requests)
    return f"{refused} POSTs answered 500, {held} held unanswered, for {HOOKS_DOWN_S:.0f} s"


async def garbage_only(_scene: Scene) -> str:
    """1 % of the messages are garbage (the load carries it)."""
    return "1 % of messages garbage, 8 kinds"


async def fill_disk(scene: Scene) -> str:
    """The data dir's file system fills up for 20 s, then the space comes back."""
    assert scene.disk is not None
    await scene.at(scene.opts.fault_at)
    filled = await asyncio.to_thread(scene.disk.fill)
    left = scene.disk.free_bytes()
    await asyncio.sleep(DISK_FULL_S)
    scene.disk.release()
    return (
        f"tmpfs {scene.opts.disk_size}: {filled / 2**20:.1f} MiB filler, {left} B left, "
        f"for {DISK_FULL_S:.0f} s"
    )


def scenarios(seconds: float = 40.0) -> list[Scenario]:
    """The suite, in the order it runs."""
    return [
        Scenario("baseline", "no fault", seconds, no_fault),
        Scenario("sigkill", "gateway SIGKILL ×2", seconds, kill_twice),
        Scenario("broker", "mosquitto restart", seconds, restart_broker),
        Scenario("db-lock", f"database locked {LOCK_S:.0f} s", seconds + LOCK_S, lock_database),
        Scenario(
            "webhooks",
            "webhooks 500 + hang",
            seconds + 10,
            break_webhooks,
            hooks=("hook", "hook-500", "hook-hang"),
        ),
        Scenario("garbage", "1 % garbage", seconds, garbage_only, garbage=0.01),
        Scenario("disk-full", "data disk full", seconds + 10, fill_disk, small_disk=True),
    ]


async def run(sc: Scenario, opts: Options) -> Tally:
    """Run one scenario in a world of its own; a scenario that breaks is a failed row."""
    t = Tally(sc.name, sc.title)
    try:
        async with Scene(sc.name, opts, hooks=sc.hooks, small_disk=sc.small_disk) as scene:
            if scene.skipped:
                t.skipped = scene.skipped
                return t
            await _run(sc, opts, scene, t)
    except Exception as exc:
        log.exception("scenario %s broke", sc.name)
        t.error = f"{type(exc).__name__}: {exc}"
    return t


async def _run(sc: Scenario, opts: Options, scene: Scene, t: Tally) -> None:
    load = replace(opts.load, garbage_share=sc.garbage)
    steps = plan(load, sc.seconds)
    ledger = Ledger()
    stop = threading.Event()
    s = scene.settings
    with CountingLink("127.0.0.1", scene.broker.port, ledger) as link:
        watch = asyncio.create_task(scene.gateway.watch(), name="faults.watch")
        scene.t0 = time.monotonic()
        publishing = asyncio.create_task(
            asyncio.to_thread(
                drive,
                link,
                steps,
                base=s.base_topic,
                z2m=s.z2m_base_topic,
                households=load.households,
                stop=stop,
            )
        )
        try:
            t.note = await sc.fault(scene)
            await publishing
            await asyncio.to_thread(link.wait_confirmed, 60)
            await _drain(scene, ledger, t, opts.drain_s)
        finally:
            stop.set()
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
            with contextlib.suppress(Exception):
                await publishing


async def _drain(scene: Scene, ledger: Ledger, t: Tally, limit: float) -> None:
    """Wait until everything arrived (or ``limit`` seconds), then a little more; count."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and not scene.gateway.deaths:
        probe = await asyncio.to_thread(tally, scene, ledger, Tally(t.scenario, t.title))
        if probe.settled():
            break
        await asyncio.sleep(1.0)
    await asyncio.sleep(SETTLE_S)
    await asyncio.to_thread(tally, scene, ledger, t)
