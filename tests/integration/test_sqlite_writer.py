"""The SQLite writer never blocks the event loop, whatever happened to the steps it queued."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from pathlib import Path

from gateway.store.direct import Prepared
from gateway.store.writer import SqliteWriter

INSERT = Prepared((("INSERT INTO t (v) VALUES (?)", [(1,)], False),))


def _pragmas(con: sqlite3.Connection, _record: object) -> None:
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA busy_timeout=4000")


def _database(tmp_path: Path, table: str) -> Path:
    """A WAL database file holding one table, ``name (columns)``."""
    db = tmp_path / "w.db"
    with contextlib.closing(sqlite3.connect(db)) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute(f"CREATE TABLE {table}")
        setup.commit()
    return db


async def _longest_stall(during: asyncio.Future[object]) -> float:
    """The longest gap between 10 ms ticks of the loop until ``during`` is done."""
    longest, last = 0.0, time.monotonic()
    while not during.done():
        await asyncio.sleep(0.01)
        now = time.monotonic()
        longest, last = max(longest, now - last), now
    return longest


async def test_a_cancelled_queued_step_does_not_let_the_next_one_block_the_loop(tmp_path: Path):
    """Locked database: step A waits on the writer's thread with the busy timeout raised; B is
    queued behind it and cancelled; C must still go to the thread, not run on the loop."""
    db = _database(tmp_path, "t (v INTEGER)")
    writer = SqliteWriter(str(db), _pragmas)
    await writer.run(INSERT)  # the connection exists, with its busy timeout at zero
    lock = sqlite3.connect(db, check_same_thread=False)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        a = asyncio.ensure_future(writer.run(INSERT))
        await asyncio.sleep(0.2)  # A is on the thread, waiting for the lock
        b = asyncio.ensure_future(writer.run(INSERT))
        await asyncio.sleep(0.05)
        b.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await b
        c = asyncio.ensure_future(writer.run(INSERT))
        unlock = asyncio.get_running_loop().call_later(1.5, lock.rollback)
        stall = await _longest_stall(asyncio.gather(a, c))
        unlock.cancel()
    finally:
        lock.close()
        writer.close()
    assert stall < 0.5, f"the loop stalled {stall:.2f} s"
    rows = sqlite3.connect(db).execute("SELECT count(*) FROM t").fetchone()[0]
    assert rows == 3  # the first step, A and C; B never ran


async def test_a_connection_left_inside_a_transaction_does_not_refuse_every_later_step(
    tmp_path: Path,
):
    """A rollback that failed (a full disk) left the writer's connection in a transaction: the
    next step starts clean instead of failing "within a transaction" for ever."""
    db = _database(tmp_path, "t (v INTEGER)")
    writer = SqliteWriter(str(db), _pragmas)
    try:
        await writer.run(INSERT)
        con = writer._connection()
        con.execute("BEGIN IMMEDIATE")  # what a failed ROLLBACK leaves behind
        con.execute("INSERT INTO t (v) VALUES (2)")
        await writer.run(INSERT)
        await writer.run(INSERT)
    finally:
        writer.close()
    values = sqlite3.connect(db).execute("SELECT v FROM t ORDER BY rowid").fetchall()
    assert values == [(1,), (1,), (1,)]  # the half-done transaction's row was rolled back


def _size(path: Path) -> int:
    return path.stat().st_size


async def test_a_wal_a_burst_grew_is_truncated_once_it_is_in_the_database(tmp_path: Path):
    """SQLite keeps a WAL file at its largest; after a burst of 6 MiB the writer's checkpoints
    give that space back, so a small disk has room for the database to grow again."""
    db = _database(tmp_path, "b (v BLOB)")
    wal = Path(f"{db}-wal")
    burst = Prepared((("INSERT INTO b (v) VALUES (?)", [(bytes(4000),)] * 2000, False),))
    writer = SqliteWriter(str(db), _pragmas)
    try:
        await writer.run(burst)
        assert _size(wal) > 6 << 20
        # Checkpoints follow writes, at most one a second: the first copies the burst into the
        # database, a later one finds it all there and truncates the file.
        deadline = time.monotonic() + 10
        while _size(wal) > 1 << 20 and time.monotonic() < deadline:
            await asyncio.sleep(0.3)
            await writer.run(Prepared((("DELETE FROM b WHERE rowid = -1", [()], False),)))
        assert _size(wal) <= 1 << 20
    finally:
        writer.close()
    assert sqlite3.connect(db).execute("SELECT count(*) FROM b").fetchone()[0] == 2000
