"""The cluster's fault scenarios, and how one is run: load, fault, drain, count.

Every scenario runs :mod:`bench.faults`' load (its community and door traffic, counted by its
publisher) against a fresh :class:`~bench.cluster_faults.scene.ClusterScene`; its faults strike
while the load goes on. After the load, the suite waits until everything published is stored and
every alert delivered (or ``drain_s`` ran out), a few seconds more for late copies, and counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.cluster_faults.count import ClusterTally, Fault, tally
from bench.cluster_faults.scene import ClusterScene, Member
from bench.faults.community import plan
from bench.faults.count import Tally
from bench.faults.publisher import CountingLink, Ledger, drive
from bench.faults.scene import Options
from simulators.postgres import PostgresServer

log = logging.getLogger("bench.cluster_faults")

SETTLE_S = 5.0  # after everything arrived: time for a late duplicate to show
NODE_DOWN_S = 5.0  # a killed NATS node is started again after this (its service manager)
CUT_S = 20.0  # how long a gateway stays cut off from PostgreSQL
STOP_LIMIT_S = 15.0  # a gateway cut off from PostgreSQL must have exited within this
SECOND_FAULT_S = 15.0  # "both in turn": the second fault, after the first

Strike = Callable[["Run"], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class Scenario:
    """A fault and the load it runs under."""

    name: str
    title: str
    seconds: float  # of load
    strike: Strike


@dataclass
class Run:
    """A scenario under way: its world, its ledger and its tally."""

    scene: ClusterScene
    ledger: Ledger
    tally: ClusterTally

    def fault(self, what: str, *, takeover: bool) -> None:
        """Mark the moment a fault strikes (for its takeover time)."""
        with self.ledger.lock:
            published = len(self.ledger.sent)
        self.tally.faults.append(Fault(what, time.time(), published, takeover))


async def _kill_active(run: Run) -> str:
    scene = run.scene
    active = await scene.active()
    run.fault(f"SIGKILL gateway {active.number}", takeover=True)
    t, pid = time.monotonic(), active.proc.pid
    await asyncio.to_thread(scene.kill, active)
    other = await scene.active(60, not_pid=pid)
    took = time.monotonic() - t
    return f"gateway {active.number} killed; gateway {other.number} active {took:.1f} s later"


async def _kill_node(run: Run) -> str:
    scene = run.scene
    active = await scene.active()
    port = active.broker_port()
    nodes = [p.mqtt for p in scene.nats.ports]
    if port not in nodes:
        raise RuntimeError(f"gateway {active.number} names no node it connected to")
    node = nodes.index(port)
    if node == 2:
        raise RuntimeError("the active gateway is on the observers' node")
    run.fault(f"SIGKILL NATS node {node + 1} (gateway {active.number}'s)", takeover=False)
    await asyncio.to_thread(scene.nats.kill, node)
    await asyncio.sleep(NODE_DOWN_S)
    await asyncio.to_thread(scene.nats.start, node)
    moved = active.broker_port()
    where = nodes.index(moved) + 1 if moved in nodes else "?"
    return (
        f"node {node + 1} killed for {NODE_DOWN_S:g} s; "
        f"gateway {active.number} on node {where} after"
    )


async def kill_gateway(run: Run) -> str:
    """SIGKILL the active gateway; the standby takes over."""
    await run.scene.at(run.scene.opts.fault_at)
    return await _kill_active(run)


async def kill_node(run: Run) -> str:
    """SIGKILL the NATS node the active gateway is connected to; started again 5 s later."""
    await run.scene.at(run.scene.opts.fault_at)
    return await _kill_node(run)


async def kill_both(run: Run) -> str:
    """SIGKILL the active gateway; 15 s later, the node the new active gateway is on."""
    await run.scene.at(run.scene.opts.fault_at)
    first = await _kill_active(run)
    await run.scene.at(run.scene.opts.fault_at + SECOND_FAULT_S)
    return f"{first}; {await _kill_node(run)}"


async def restart_postgres(run: Run) -> str:
    """Restart PostgreSQL (fast shutdown: every session cut, then started again)."""
    scene = run.scene
    await scene.at(scene.opts.fault_at)
    run.fault("PostgreSQL restart", takeover=False)
    t = time.monotonic()
    await asyncio.to_thread(scene.pg.restart)
    return f"PostgreSQL down {time.monotonic() - t:.1f} s"


async def cut_postgres(run: Run) -> str:
    """Cut the active gateway off from PostgreSQL alone (its proxy goes silent) for 20 s: it
    must stop, and the standby take over."""
    scene = run.scene
    await scene.at(scene.opts.fault_at)
    active: Member = await scene.active()
    run.fault(f"gateway {active.number} cut off from PostgreSQL", takeover=True)
    before, pid = len(active.exits), active.proc.pid
    t = time.monotonic()
    active.proxy.cut()
    other = await scene.active(60, not_pid=pid)
    took = time.monotonic() - t
    while len(active.exits) == before and time.monotonic() - t < STOP_LIMIT_S:
        await asyncio.sleep(0.1)
    if len(active.exits) == before:
        run.tally.checks.append(
            f"gateway {active.number} still ran {STOP_LIMIT_S:g} s after it was cut off"
        )
        stopped = "did not stop"
    else:
        at, code = active.exits[before]
        stopped = f"exited {code} after {at - run.tally.faults[-1].at:.1f} s"
    await asyncio.sleep(max(0.0, CUT_S - (time.monotonic() - t)))
    await asyncio.to_thread(active.proxy.heal)
    return (
        f"gateway {active.number} cut for {CUT_S:g} s: {stopped}; "
        f"gateway {other.number} active {took:.1f} s after the cut"
    )


def scenarios(seconds: float = 40.0) -> list[Scenario]:
    """The suite, in the order it runs."""
    return [
        Scenario("gateway", "SIGKILL active gateway", seconds, kill_gateway),
        Scenario("node", "SIGKILL its NATS node", seconds, kill_node),
        Scenario("both", "gateway, then node", seconds + SECOND_FAULT_S, kill_both),
        Scenario("pg-restart", "PostgreSQL restart", seconds, restart_postgres),
        Scenario("pg-cut", "active cut from PostgreSQL", seconds + 10, cut_postgres),
    ]


async def run(sc: Scenario, opts: Options, pg: PostgresServer, limit_s: float) -> ClusterTally:
    """Run one scenario in a world of its own; a scenario that breaks is a failed row."""
    t = ClusterTally(Tally(sc.name, sc.title), limit_s)
    events: list[str] = []
    try:
        async with ClusterScene(sc.name, opts, pg) as scene:
            events = scene.events
            await _run(sc, opts, scene, t)
            t.counts.note = "; ".join(filter(None, [t.counts.note, *_exits(scene)]))
    except Exception as exc:
        log.exception("scenario %s broke", sc.name)
        t.counts.error = f"{type(exc).__name__}: {exc}"
        if events:
            t.counts.error += f" (after: {'; '.join(events[-6:])})"
    return t


def _exits(scene: ClusterScene) -> list[str]:
    return [e for e in scene.events if "exited" in e]


async def _run(sc: Scenario, opts: Options, scene: ClusterScene, t: ClusterTally) -> None:
    load = opts.load
    steps = plan(load, sc.seconds)
    ledger = Ledger()
    stop = threading.Event()
    base, z2m = scene.members[0].settings.base_topic, scene.members[0].settings.z2m_base_topic
    await scene.warm_up()
    with CountingLink("127.0.0.1", scene.observer_port, ledger) as link:
        scene.t0 = time.monotonic()
        publishing = asyncio.create_task(
            asyncio.to_thread(
                drive, link, steps, base=base, z2m=z2m, households=load.households, stop=stop
            )
        )
        try:
            t.counts.note = await sc.strike(Run(scene, ledger, t))
            await publishing
            await asyncio.to_thread(link.wait_confirmed, 60)
            await _drain(scene, ledger, t, opts.drain_s)
        finally:
            stop.set()
            with contextlib.suppress(Exception):
                await publishing


async def _drain(scene: ClusterScene, ledger: Ledger, t: ClusterTally, limit: float) -> None:
    """Wait until everything arrived (or ``limit`` seconds), then a little more; count."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        probe = ClusterTally(Tally(t.counts.scenario, t.counts.title), t.limit_s)
        await tally(scene, ledger, probe)
        if probe.counts.settled():
            break
        await asyncio.sleep(1.0)
    await asyncio.sleep(SETTLE_S)
    await tally(scene, ledger, t)
