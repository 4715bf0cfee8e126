"""The SQLite writer: a step committed on the event loop's own thread, unless it would wait.

A step handed to another thread costs two thread switches, and while the event loop runs
Python (reading the broker's backlog) that thread waits for the GIL at every row: a batch of a
thousand events took ~55 ms to commit for ~10 ms of work. Here the gateway keeps one
``sqlite3`` connection of its own for the steps it writes alone, and runs a step on it
directly: ``BEGIN IMMEDIATE``, the prepared statements, ``COMMIT`` — tens of microseconds for a
breach, a few milliseconds for a thousand events, during which the loop does nothing else.

Nor does it checkpoint there: its automatic checkpoints are off, and a passive checkpoint runs
on the writer's thread at most once a second (a checkpoint on the loop copied a thousand pages
and synced twice, every half second at 50 breaches a second). A WAL that a burst grew past
``WAL_TRUNCATE_BYTES`` is truncated once all of it is in the database, and after a write refused
for want of space: SQLite keeps a WAL file at its largest otherwise, and on a small disk that
space is what the database needs to take the next checkpoint (a full disk never recovered).

It never waits on the loop: the connection's busy timeout is zero, so a database another
writer holds (a CLI ``isogate load``, a backup, a lock held by a fault test) answers
``SQLITE_BUSY`` at once. The step then goes to the writer's own thread, where it waits as
long as the store's busy timeout allows, and later steps queue behind it until the thread is
done with the connection.

Durability is the store's: WAL with ``synchronous=NORMAL`` (set on this connection as on every
other), so a commit survives the process being killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from gateway.store.direct import Prepared, execute, translated

log = logging.getLogger("isogate.store")

_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
CHECKPOINT_EVERY_S = 1.0
WAL_TRUNCATE_BYTES = 4 << 20
TRUNCATE_WAIT_MS = 200  # how long a truncating checkpoint waits for readers (writers wait too)


class _BusyError(Exception):
    """The database is held by another writer: this step cannot go without waiting."""

    def __init__(self, error: sqlite3.OperationalError) -> None:
        super().__init__(str(error))
        self.error = error


class SqliteWriter:
    """One connection for the store's own transactions; see the module's docstring."""

    def __init__(self, path: str, pragmas: Any) -> None:
        """``path``: the database file; ``pragmas(connection, None)``: the store's settings
        for a new connection (WAL, synchronous, busy timeout)."""
        self.path = path
        self._pragmas = pragmas
        self._con: sqlite3.Connection | None = None
        self._patience_ms = 0
        # Steps given to the thread and not done there. Every one counts, not just the latest:
        # a queued step cancelled before it started is done while an earlier one still holds
        # the connection, waiting out a lock with the busy timeout raised.
        self._given: list[Future[list[int]]] = []
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="isogate-writer")
        self._checkpointer: sqlite3.Connection | None = None  # used on the thread only
        self._checkpointing = False
        self._next_checkpoint = 0.0
        self._full = False  # a write was refused for want of space: truncate the WAL next
        self._checkpoint_failing = False
        self._page = 4096  # the database's page size, read by the checkpointer

    def _connection(self) -> sqlite3.Connection:
        con = self._con
        if con is None:
            # Autocommit mode: the transactions are the writer's own (BEGIN IMMEDIATE … COMMIT).
            con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._pragmas(con, None)
            self._patience_ms = int(con.execute("PRAGMA busy_timeout").fetchone()[0])
            con.execute("PRAGMA busy_timeout=0")
            # Its commits never checkpoint on the loop (copying the WAL into the database and
            # syncing both took milliseconds, every thousand pages): the thread does it.
            con.execute("PRAGMA wal_autocheckpoint=0")
            self._con = con
        return con

    async def run(self, prepared: Prepared) -> list[int]:
        """Commit a prepared step; returns the ids of the rows of the op that returns them.

        Raises SQLAlchemy's exception for what SQLite refused, as the rest of the store does.
        A caller cancelled while its step waits on the thread leaves the step to finish there
        (it may still commit); until the thread is done with the connection, later steps
        queue behind it rather than touch the connection from the loop.
        """
        loop = asyncio.get_running_loop()
        try:
            return await self._run(prepared, loop)
        finally:
            # After each step, committed or not: a write refused for want of space is what
            # asks for the WAL to be truncated, and nothing else would schedule it.
            self._checkpoint_soon(loop)

    async def _run(self, prepared: Prepared, loop: asyncio.AbstractEventLoop) -> list[int]:
        self._given = [job for job in self._given if not job.done()]
        if not self._given:
            try:
                return self._write(prepared)
            except _BusyError:
                pass
        job = self._thread.submit(self._write_patiently, prepared)
        self._given.append(job)
        return await asyncio.wrap_future(job, loop=loop)

    def _checkpoint_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        """At most every ``CHECKPOINT_EVERY_S``, a passive checkpoint on the writer's thread.

        Passive: it copies what it can without waiting for readers or the writer, which go on
        meanwhile. Same syncs as SQLite's own checkpoints under ``synchronous=NORMAL``.
        """
        now = time.monotonic()
        if self._checkpointing or now < self._next_checkpoint:
            return
        self._checkpointing = True
        self._next_checkpoint = now + CHECKPOINT_EVERY_S
        loop.run_in_executor(self._thread, self._checkpoint).add_done_callback(self._checkpointed)

    def _checkpoint(self) -> None:
        con = self._checkpointer
        if con is None:
            con = self._checkpointer = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False
            )
            self._pragmas(con, None)
            con.execute(f"PRAGMA busy_timeout={TRUNCATE_WAIT_MS}")
            self._page = int(con.execute("PRAGMA page_size").fetchone()[0])
        busy, frames, copied = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        large = frames * (self._page + 24) > WAL_TRUNCATE_BYTES
        if self._full or (not busy and frames == copied and large):
            # Waits for readers (and holds writers) at most TRUNCATE_WAIT_MS; busy, it is
            # tried again at a later checkpoint.
            busy, _, _ = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                self._full = False

    def _checkpointed(self, done: asyncio.Future[None]) -> None:
        self._checkpointing = False
        exc = done.exception()
        if exc is None:
            if self._checkpoint_failing:
                log.warning("WAL checkpoints succeed again")
            self._checkpoint_failing = False
        elif not self._checkpoint_failing:  # the next write tries again; the WAL grows meanwhile
            log.warning("WAL checkpoint failed: %s (retried after later writes)", exc)
            self._checkpoint_failing = True

    def _write(self, prepared: Prepared) -> list[int]:
        con = self._connection()
        if con.in_transaction:  # a rollback that failed before (a full disk): start clean
            self._discard_transaction(con)
            con = self._connection()
        try:
            con.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode in _BUSY:
                raise _BusyError(exc) from exc
            raise translated(exc) from exc
        except sqlite3.Error as exc:
            raise translated(exc) from exc
        try:
            ids = execute(con, prepared)
            con.execute("COMMIT")
        except BaseException as exc:
            if con.in_transaction:
                self._discard_transaction(con)
            if isinstance(exc, sqlite3.Error):
                if exc.sqlite_errorcode == sqlite3.SQLITE_FULL:
                    self._full = True
                raise translated(exc) from exc
            raise
        return ids

    def _discard_transaction(self, con: sqlite3.Connection) -> None:
        """Roll back; if even that fails, close the connection so that the next step opens a
        fresh one. A connection left inside a transaction would refuse every later step
        ("cannot start a transaction within a transaction"), an outage that never ends."""
        try:
            con.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("rollback failed (%s): the writer's connection is opened anew", exc)
            self._con = None
            with contextlib.suppress(sqlite3.Error):
                con.close()

    def _write_patiently(self, prepared: Prepared) -> list[int]:
        """On the writer's thread: the step, waiting for the database up to the busy timeout."""
        con = self._connection()
        con.execute(f"PRAGMA busy_timeout={self._patience_ms}")
        try:
            return self._write(prepared)
        except _BusyError as exc:
            raise translated(exc.error) from exc.error
        finally:
            if self._con is con:  # not closed after a failed rollback
                con.execute("PRAGMA busy_timeout=0")

    def close(self) -> None:
        """Close the connections and the thread (nothing is left uncommitted)."""
        self._thread.shutdown(wait=True)
        for con in (self._con, self._checkpointer):
            if con is not None:
                con.close()
        self._con = self._checkpointer = None
