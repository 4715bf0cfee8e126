"""The store alone: what one pipeline commit costs on SQLite (WAL, aiosqlite, SQLAlchemy Core).

Run: ``make bench`` (or ``python -m bench.store``). Prints wall and CPU per commit for an
event-only step and for a breach step (event, device state, alert, history, three notices,
then the notices marked delivered). The limit beside them, measured in the same run: a bare
aiosqlite insert of one event-sized row and its commit, with the store's pragmas (WAL, NORMAL).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from bench.figures import Figure
from gateway.store import Store
from gateway.store.records import (
    DeviceStatus,
    HistoryEntry,
    OutboxItem,
    Writes,
)
from tests.samples import breach_alert, door_event

N = 1000
QUICK_N = 200
GROUP = "store: one pipeline commit, SQLite WAL"
PerCommit = tuple[float, float]  # wall and CPU seconds per commit


async def bare_commit(path: Path, n: int) -> PerCommit:
    """A bare aiosqlite insert + commit of an event-sized row: (wall, CPU) seconds per commit."""
    async with aiosqlite.connect(path) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, ts REAL, received REAL, topic TEXT,"
            " device TEXT, household TEXT, kind TEXT, seq INTEGER, data TEXT, digest TEXT)"
        )
        w0, c0 = time.perf_counter(), time.process_time()
        for i in range(n):
            t = time.time()
            await db.execute(
                "INSERT INTO events (ts, received, topic, device, household, kind, seq, data,"
                " digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    t,
                    t,
                    "isogate/dev/door-h1/event",
                    "door-h1",
                    "h1",
                    "door",
                    i,
                    '{"open":true}',
                    f"{i:032x}",
                ),
            )
            await db.commit()
        return (time.perf_counter() - w0) / n, (time.process_time() - c0) / n


async def measure(n: int = N) -> tuple[PerCommit, PerCommit, PerCommit]:
    """(bare insert+commit, event-only commit, breach step), each (wall, CPU) seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        bare = await bare_commit(Path(tmp) / "bare.db", n)
        async with Store.open(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}") as store:
            t = datetime.now(UTC)
            w0, c0 = time.perf_counter(), time.process_time()
            for i in range(n):
                await store.commit(Writes(events=[door_event(t, i)]))
            event_only = ((time.perf_counter() - w0) / n, (time.process_time() - c0) / n)

            alert = breach_alert(t, message="门磁: 幸福小区 开门")
            await store.commit(Writes(alerts={alert.id: alert}, new_alert_ids={alert.id}))
            w0, c0 = time.perf_counter(), time.process_time()
            for i in range(n):
                items = await store.commit(
                    Writes(
                        events=[door_event(t, n + i)],
                        devices={"door-h1": DeviceStatus("door-h1", "h1", t, door_open=True)},
                        alerts={alert.id: alert},
                        history=[HistoryEntry(alert.id, t, "repeated")],
                        outbox=[
                            OutboxItem(alert.id, "mqtt", p, f"isogate/alerts/to/{p}", "{}", t)
                            for p in ("*", "p1", "w1")
                        ],
                    )
                )
                await store.outbox_done([(x.id, t) for x in items if x.id is not None])
            breach = ((time.perf_counter() - w0) / n, (time.process_time() - c0) / n)
    return bare, event_only, breach


async def figures(quick: bool = False) -> list[Figure]:
    """Per-commit wall and CPU of the bare insert, an event-only step and a breach step."""
    n = QUICK_N if quick else N
    bare, event_only, breach = await measure(n)
    note = f"{n:,} commits; process CPU includes the database thread"
    return [
        Figure(GROUP, "bare aiosqlite insert + commit, CPU", bare[1] * 1e3, "ms", note=note),
        Figure(GROUP, "event-only commit, wall", event_only[0] * 1e3, "ms", limit=bare[0] * 1e3),
        Figure(GROUP, "event-only commit, CPU", event_only[1] * 1e3, "ms", limit=bare[1] * 1e3),
        Figure(GROUP, "breach step + delivered, wall", breach[0] * 1e3, "ms"),
        Figure(GROUP, "breach step + delivered, CPU", breach[1] * 1e3, "ms"),
    ]


async def main(n: int) -> None:
    bare, event_only, breach = await measure(n)
    print(f"store, {n} commits each (process CPU includes the database thread):")
    for what, (wall, cpu) in (
        ("bare aiosqlite insert+commit", bare),
        ("event only", event_only),
        ("breach + delivered", breach),
    ):
        print(f"  {what + ':':<30} {wall * 1e3:.2f} ms wall, {cpu * 1e3:.2f} ms CPU per commit")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_N} commits each")
    asyncio.run(main(QUICK_N if parser.parse_args().quick else N))
