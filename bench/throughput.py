"""Ingest throughput: how fast door events are stored (and alerted) when they pour in.

Run: ``make bench`` (or ``python -m bench.throughput``). Native door events at QoS 1
(bench/backlog.py), against the limit measured on the same broker in the same run (bench/raw.py).
- live: one publisher with a window of 2,000 unacknowledged messages while the gateway runs;
  publisher, broker and gateway share the machine, so the slowest of them sets the figure. Its
  limit is the same publisher into the bare client online on the same broker; the two take
  turns ``ROUNDS`` times and the fastest of each is kept.
- backlog: the same events queued at the broker while the gateway is stopped, then drained on
  start: the gateway's own ceiling (first receipt, from the event log, to all committed).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bench import raw
from bench._harness import Rig, rig
from bench.backlog import (
    HOUSEHOLDS,
    QUICK_N,
    TIMEOUT_S,
    Drain,
    N,
    drain_backlog,
    publish_all,
)
from bench.figures import Figure, at_least
from gateway.clock import from_epoch
from gateway.store import Store
from simulators.process import start_gateway, wait_healthy

GROUP = "ingest: isogate, native door events, QoS 1"
BACKLOG_TARGET = 0.8  # of the bare client's drain, measured in the same run
LIVE_TARGET = 0.9  # of the same publisher into the bare client: the publisher is the bound


POLL_S = 0.005
"""How often the event count is read while the gateway works (a read of ``max(id)``)."""


@dataclass(frozen=True, slots=True)
class Counted:
    """The moment ``n`` new events were first seen stored, the gateway's CPU seconds at the
    last look that still saw none of them (what it used before its first commit is left out),
    the first receipt among them (None when not read here) and how many there were."""

    done: datetime
    cpu_before: float
    first: datetime | None = None
    count: int = 0


def _sqlite_path(db_url: str) -> str | None:
    """The file of a SQLite URL (read with the driver alone, cheaply); None for another
    database."""
    parts = urlsplit(db_url)
    if not parts.scheme.startswith("sqlite") or not parts.path.startswith("/"):
        return None
    return parts.path[1:] if parts.path.startswith("//") else parts.path


def newest_event(db_url: str) -> int:
    """The id of the newest event in a SQLite event log (0 when empty or not SQLite)."""
    path = _sqlite_path(db_url)
    if path is None:
        return 0
    with contextlib.closing(sqlite3.connect(path, timeout=5)) as con:
        return int(con.execute("SELECT max(id) FROM events").fetchone()[0] or 0)


def count_until(
    db_url: str, n: int, timeout: float, cpu: Callable[[], float], base: int = 0
) -> Counted:
    """Poll the event log every ``POLL_S`` until it holds ``n`` events after id ``base``
    (runs in a thread).

    One read of ``max(id)`` a look (the log is append-only here): the moment is known within
    ``POLL_S`` and the look costs the machine next to nothing, where a count through the store
    every 20 ms added up to tens of milliseconds to a drain of a fraction of a second. The
    count itself is checked at the end.
    """
    path = _sqlite_path(db_url)
    deadline = time.perf_counter() + timeout
    cpu_before = cpu()
    if path is None:
        return asyncio.run(_count_through_store(db_url, n, deadline, cpu_before))
    count = 0
    with contextlib.closing(sqlite3.connect(path, timeout=5)) as con:
        while time.perf_counter() < deadline:
            before = cpu()
            try:
                newest = con.execute("SELECT max(id) FROM events").fetchone()[0] or 0
                if newest <= base:
                    cpu_before = before
                elif newest >= base + n:
                    q = "SELECT count(*) FROM events WHERE id > ?"
                    count = con.execute(q, (base,)).fetchone()[0]
                    if count >= n:
                        break
            except sqlite3.OperationalError:  # busy a moment: look again
                pass
            time.sleep(POLL_S)
        done = datetime.now(UTC)
        q = "SELECT min(received_at) FROM events WHERE id > ?"
        first = con.execute(q, (base,)).fetchone()[0]
    return Counted(done, cpu_before, from_epoch(first) if first else None, count)


async def _count_through_store(db_url: str, n: int, deadline: float, cpu: float) -> Counted:
    async with Store.open(db_url) as store:
        while await store.count_events() < n and time.perf_counter() < deadline:
            await asyncio.sleep(POLL_S)
    return Counted(datetime.now(UTC), cpu)


class IsogateDrainer:
    """The gateway of a rig as a :class:`bench.backlog.Drainer`; counts events in its store.

    The count is watched from the moment the gateway is started, not from when it answers
    healthy: it takes the broker's backlog as soon as it is connected, and a drain may be over
    before its API is up. The drain's CPU is what the process used from its last look with no
    event stored to the end (``startup_cpu`` is set to the first).
    """

    def __init__(self, r: Rig) -> None:
        self.rig = r
        self.port = r.broker.port
        self.base_topic = r.settings.base_topic
        self.startup_cpu = r.cpu_seconds()  # the rig has just seen it healthy
        self._watch: asyncio.Task[Counted] | None = None
        self._n = 0
        self._timeout = 0.0
        self._base = 0

    def expect(self, n: int, timeout: float) -> None:
        """Watch for ``n`` events at the next :meth:`start`."""
        self._n, self._timeout = n, timeout

    @property
    def pid(self) -> int:
        """The gateway process."""
        return self.rig.pid

    def stop(self) -> None:
        """SIGTERM; the session keeps queueing."""
        self.rig.stop()

    async def start(self) -> None:
        """Start, watch the event count from there (see :meth:`expect`), wait until healthy."""
        r = self.rig
        self._base = newest_event(r.settings.db_url)  # a drain before this one left these
        r.proc = start_gateway(r.settings)
        if self._n:
            url = r.settings.db_url
            self._watch = asyncio.create_task(
                asyncio.to_thread(
                    count_until, url, self._n, self._timeout, r.cpu_seconds, self._base
                )
            )
        await wait_healthy(r.settings.http_port)

    def cpu_seconds(self) -> float:
        """From /proc."""
        return self.rig.cpu_seconds()

    async def wait_drained(self, n: int, timeout: float) -> tuple[float, int]:
        """First receipt in the event log → the moment n events were seen committed."""
        watch = self._watch
        if watch is None or n != self._n:
            url = self.rig.settings.db_url
            watch = asyncio.create_task(
                asyncio.to_thread(count_until, url, n, timeout, self.rig.cpu_seconds, self._base)
            )
        counted = await watch
        self._watch = None
        self.startup_cpu = counted.cpu_before
        if counted.first is not None:
            return (counted.done - counted.first).total_seconds(), counted.count
        async with Store.open(self.rig.settings.db_url) as store:
            first, _, stored = await store.receipt_span()
        return (counted.done - first).total_seconds(), stored


_backlogs: dict[tuple[bool, int], Drain] = {}

ROUNDS = 3
"""Drains of the bare client and of isogate, in turn, for the limit and the figure it is read
against: the fastest of each is kept. Other work on a shared machine slows a drain of a
fraction of a second by anything up to several times; the fastest is the least disturbed."""


async def isogate_backlog(
    isolated: bool, n: int = N, *, limit_for: list[Drain] | None = None
) -> Drain:
    """isogate draining the backlog, in or outside isolation; once per run (bench.peer reuses it).

    With ``limit_for``, the bare client first drains the same backlog on the same broker while
    the gateway is stopped, then isogate; ``ROUNDS`` times in turn (on SQLite), and the
    fastest drain of each is kept: the bare client's is appended there.
    """
    key = (isolated, n)
    if key not in _backlogs or limit_for is not None:
        async with rig(HOUSEHOLDS, isolated=isolated) as r:
            d = IsogateDrainer(r)
            d.expect(n, TIMEOUT_S)
            bares: list[Drain] = []

            async def bare() -> None:
                if limit_for is not None:
                    bares.append(await asyncio.to_thread(raw.measure, d.port, n))

            rounds = ROUNDS if limit_for is not None and _sqlite_path(r.settings.db_url) else 1
            drains = [await drain_backlog(d, n, bare) for _ in range(rounds)]
            _backlogs[key] = max(drains, key=lambda x: x.rate)
            if limit_for is not None:
                limit_for.append(max(bares, key=lambda x: x.rate))
    return _backlogs[key]


async def live(isolated: bool, n: int = N, rounds: int = ROUNDS) -> tuple[Drain, Drain]:
    """isogate storing n events as they are published, and the bare client taking the same
    on the same broker (the gateway idle meanwhile), in turn ``rounds`` times: the fastest of
    each, as for the backlog (isogate, bare client)."""
    async with rig(HOUSEHOLDS, isolated=isolated) as r:
        s = r.settings
        bares: list[Drain] = []
        ours: list[Drain] = []
        for _ in range(rounds):
            bares.append(await asyncio.to_thread(raw.live, r.broker.port, n))
            base = newest_event(s.db_url)
            cpu0 = r.cpu_seconds()
            t0 = time.perf_counter()
            counting = asyncio.create_task(
                asyncio.to_thread(count_until, s.db_url, n, TIMEOUT_S, r.cpu_seconds, base)
            )
            rate = await asyncio.to_thread(publish_all, r.broker.port, s.base_topic, n)
            counted = await counting
            elapsed = time.perf_counter() - t0
            ours.append(Drain(counted.count, elapsed, r.cpu_seconds() - cpu0, rate))
    return max(ours, key=lambda x: x.rate), max(bares, key=lambda x: x.rate)


def _what(isolated: bool) -> str:
    # Each repeat updates its alert, in the history and on the all-alerts topic: one update per
    # alert and commit, saying its last count (gateway.alerting.news).
    return "breach repeats, announced" if isolated else "stored, no alerts"


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
        d, online = await live(isolated, n)
        # How long after the publisher's last acknowledged message the last event was stored
        # (the count is read every POLL_S): near zero when the gateway kept pace.
        behind_ms = (d.seconds - n / d.publish_rate) * 1000 if d.publish_rate else 0.0
        out.append(
            Figure(
                GROUP,
                f"live, {_what(isolated)}",
                d.rate,
                "events/s",
                limit=online.rate,
                target=f"≥ {LIVE_TARGET * 100:.0f} % of limit",
                ok=at_least(d.rate, LIVE_TARGET * online.rate),
                note=f"publisher meanwhile {d.publish_rate:,.0f}/s (into the bare client "
                f"{online.publish_rate:,.0f}/s), all stored {behind_ms:.0f} ms after its last; "
                f"CPU {d.cpu_us:.0f} µs/event; fastest of {ROUNDS}, as the limit",
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
                note=f"{d.count:,} of {n:,} in {d.seconds:.2f} s"
                + ("" if isolated else f"; fastest of {ROUNDS}, as the limit"),
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
