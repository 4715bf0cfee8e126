"""Counting a cluster run: what was published against what PostgreSQL and the recipients hold,
and how long after each fault the first alert of a breach published after it arrived.

The counts are :mod:`bench.faults.count`'s, read from PostgreSQL (directly, not through the
gateways' proxies). A cluster run fails on a loss and on a slow or missing takeover; duplicates
are shown per topic but are not a failure here (delivery is at least once across a SIGKILL).
The time limit holds for a takeover (a SIGKILL of the active gateway, or its cut from
PostgreSQL); after a NATS node's death or PostgreSQL's restart the time to the next alert is
shown but not held to it: it is the broker's or the database's own recovery (a JetStream
stream's leader election, for one).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bench.cluster_faults.scene import ClusterScene
from bench.faults.count import Stored, Tally, count
from bench.faults.publisher import Ledger


async def read_pg(dsn: str) -> Stored:
    """Read the counts from the scenario's database."""
    import asyncpg  # type: ignore[import-untyped]  # the postgres extra, untyped

    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        digests = Counter(r[0] for r in await conn.fetch("SELECT digest FROM events"))
        rejected = [
            f"{r[0]} {r[1]}" for r in await conn.fetch("SELECT topic, payload FROM rejected")
        ]
        breaches = [
            (r[0], r[1], r[2], r[3] is not None)
            for r in await conn.fetch(
                "SELECT id, household_id, status, acked_at FROM alerts WHERE type = 'door_breach'"
            )
        ]
        pending = await conn.fetchval("SELECT count(*) FROM outbox WHERE state = 'pending'")
    finally:
        await conn.close()
    return Stored(digests, rejected, breaches, int(pending))


async def _outbox_of(scene: ClusterScene, alert_id: str) -> list[str]:
    """The outbox rows of one alert, in words (channel, target, state, when, attempts)."""
    import asyncpg

    conn = await asyncpg.connect(scene.pg.dsn(scene.database), timeout=10)
    try:
        rows = await conn.fetch(
            "SELECT channel, target, state, delivered_at, attempts, last_error FROM outbox "
            "WHERE alert_id = $1 ORDER BY id",
            alert_id,
        )
    finally:
        await conn.close()
    return [f"{r[0]} {r[1]} {r[2]} at {r[3]} ×{r[4]}{' ' + r[5] if r[5] else ''}" for r in rows]


@dataclass(frozen=True, slots=True)
class Fault:
    """One fault struck: when (wall time), and how many messages had been published by then."""

    what: str
    at: float
    published: int
    takeover: bool  # another gateway process must take over (held to the limit)


@dataclass
class ClusterTally:
    """One scenario's counts, its takeovers, and what it fails on."""

    counts: Tally
    limit_s: float
    faults: list[Fault] = field(default_factory=list)
    takeover_s: list[float | None] = field(default_factory=list)  # per fault; None: no alert
    exits: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)  # the scenario's own failures (a gateway
    # that did not stop when cut off, ...)
    lost_sample: list[str] = field(default_factory=list)  # a few of the events lost

    @property
    def failures(self) -> list[str]:
        """Every loss or slow takeover, in words; empty when the scenario passed."""
        t = self.counts
        if t.skipped:
            return []
        out = [t.error] if t.error else []
        out += self.checks
        losses = [
            (t.unconfirmed, "messages the broker never acknowledged to the publisher"),
            (t.lost, "events lost"),
            (t.breaches - t.alerts, "breaches without an alert"),
            (t.alerts - t.acked, "alerts whose acknowledgement was not applied"),
            (t.pending, "notices still pending in the outbox"),
        ]
        losses += [
            (t.breaches - n, f"alerts not delivered to {ch}") for ch, n in t.delivered.items()
        ]
        out += [f"{n} {what}" for n, what in losses if n > 0]
        took_s = self.takeover_s + [None] * (len(self.faults) - len(self.takeover_s))
        for f, took in zip(self.faults, took_s, strict=True):
            if took is None:
                out.append(f"{f.what}: no alert from a breach published after it")
            elif f.takeover and took > self.limit_s:
                out.append(f"{f.what}: first alert {took:.1f} s after (limit {self.limit_s:g} s)")
        return out

    @property
    def ok(self) -> bool:
        """Whether the scenario passed (a skipped one is not a failure)."""
        return not self.failures


def takeovers(scene: ClusterScene, ledger: Ledger, faults: list[Fault]) -> list[float | None]:
    """Per fault: seconds from it to the first alert raised for a breach published after it.

    A breach published after a SIGKILL can only be alerted by the gateway that took over; after
    a node's death or PostgreSQL's restart, by whichever gateway is active then.
    """
    copies = [
        c
        for c in scene.listener.received()
        if c.topic == f"{scene.base_topic}/alerts"
        and c.alert.get("type") == "door_breach"
        and c.alert.get("status") == "open"
    ]
    with ledger.lock:
        sent = list(ledger.sent)
    out: list[float | None] = []
    for f in faults:
        after = {s.household for s in sent[f.published :] if s.kind == "breach"}
        times = [c.at for c in copies if c.alert.get("household") in after and c.at > f.at]
        out.append(min(times) - f.at if times else None)
    return out


async def tally(scene: ClusterScene, ledger: Ledger, t: ClusterTally) -> ClusterTally:
    """Fill ``t`` with the counts of ``scene`` now."""
    db = await read_pg(scene.pg.dsn(scene.database))
    count(db, scene, ledger, t.counts)
    lost = [s for s in ledger.of_kind("event", "breach") if s.digest not in db.digests]
    t.lost_sample = [f"event #{s.n} {s.topic} ({s.kind})" for s in lost[:12]]
    got = scene.officers.raised()
    late = [(i, hh) for i, hh, _status, _acked in db.breaches if i not in got]
    first = t.faults[0].at if t.faults else 0.0
    seen = {c.alert.get("id"): c.at - first for c in reversed(scene.listener.received())}
    for i, hh in late[:12]:
        rows = await _outbox_of(scene, i)
        t.lost_sample.append(
            f"alert {i} of {hh}: not on its officer's topic (on the alerts topic at "
            f"{seen.get(i, float('nan')):+.2f} s from the fault at {first:.2f}); outbox: {rows}"
        )
    t.takeover_s = takeovers(scene, ledger, t.faults)
    t.exits = [
        f"gateway {m.number}: {', '.join(str(code) for _, code in m.exits)}"
        for m in scene.members
        if m.exits
    ]
    return t
