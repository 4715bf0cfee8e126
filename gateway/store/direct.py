"""A planned step on SQLite's driver directly: every statement and the commit in one call.

Through SQLAlchemy's asyncio layer every statement is three or four round trips to aiosqlite's
thread (cursor, execute, fetch, close), each a queue hand-off and a wake-up of the event loop,
and a step of seven statements spent more on those than on SQLite. Here the statements of a
:func:`gateway.store.plan.plan` are compiled once by SQLAlchemy for SQLite (text, parameter
order, type processors such as JSON's) and then run with ``executemany`` on the ``sqlite3``
connection of a pooled aiosqlite connection, in one call on its thread; a step costs one round
trip. Errors come back as SQLAlchemy's exception classes, as from the rest of the store.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from gateway.store.plan import Op, Statements

_Params = tuple[Any, ...]


_Field = tuple[str | None, Any, Callable[[Any], Any] | None]


class _Compiled:
    """A statement as SQLite runs it: its text, and how a row dict becomes its parameters."""

    def __init__(self, sql: str, fields: list[_Field]) -> None:
        """``fields``: per ``?``, the row key (None: a constant of the statement, such as a
        literal in its WHERE clause), the constant, and the type's processor (JSON's)."""
        self.sql = sql
        self._fields = fields
        keys = [key for key, _, _ in fields]
        # The usual statement has no constants: one C-level look-up of all keys of a row.
        self._get = itemgetter(*keys) if keys and None not in keys else None
        self._single = len(keys) == 1
        self._procs = [(i, proc) for i, (_, _, proc) in enumerate(fields) if proc is not None]

    def params(self, row: dict[str, Any]) -> _Params:
        """The statement's parameters for one row."""
        get = self._get
        if get is None:
            return tuple(
                const if key is None else (proc(row[key]) if proc else row[key])
                for key, const, proc in self._fields
            )
        values = (get(row),) if self._single else get(row)
        if not self._procs:
            return values
        out = list(values)
        for i, proc in self._procs:
            out[i] = proc(out[i])
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A plan ready to run on the database thread: (sql, parameter rows, returns ids)."""

    steps: tuple[tuple[str, list[_Params], bool], ...]


class SqliteDirect:
    """Compiles planned statements for SQLite (once per statement and set of keys) and runs
    them on the driver.

    A step of its own (:meth:`run_alone`) runs on the writer: one pooled connection held for
    the store's life, since checking a connection out of SQLAlchemy's pool and back costs more
    than the step's statements. aiosqlite runs the calls of one connection one after another
    on its thread, and each call here is a whole transaction, so steps never interleave.
    """

    def __init__(self, statements: Statements) -> None:
        self.statements = statements
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}
        self._writer: AsyncConnection | None = None
        self._driver: Any = None  # the writer's aiosqlite connection
        self._opening = asyncio.Lock()

    def _compile(self, op: Op, keys: tuple[str, ...]) -> _Compiled:
        found = self._compiled.get((op.name, keys))
        if found is not None:
            return found
        dialect = self.statements.dialect
        # The outbox's ids come from the cursor, one row at a time: no RETURNING here.
        stmt = self.statements.by_name[op.name]
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
        fields: list[_Field] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name in keys:
                fields.append((name, None, proc))
            else:
                value = bind.effective_value
                fields.append((None, proc(value) if proc else value, None))
        found = _Compiled(str(compiled), fields)
        self._compiled[(op.name, keys)] = found
        return found

    def prepare(self, ops: Sequence[Op]) -> Prepared:
        """Parameters for every row of every op (on the event loop, before the hand-off)."""
        steps = []
        for op in ops:
            keys = tuple(op.rows[0]) if op.rows else ()
            c = self._compile(op, keys)
            params = [c.params(r) for r in op.rows] if op.rows else [c.params({})]
            steps.append((c.sql, params, op.returning))
        return Prepared(tuple(steps))

    async def run(self, conn: AsyncConnection, prepared: Prepared) -> list[int]:
        """Run a prepared plan inside the transaction ``conn`` has open, in one call on its
        thread; returns the ids of the rows of the op that returns them."""
        raw = await conn.get_raw_connection()
        return await _call(raw.driver_connection, prepared, commit=False)

    async def run_alone(self, engine: AsyncEngine, prepared: Prepared) -> list[int]:
        """Run a prepared plan as a transaction of its own on the writer: committed, or rolled
        back on error."""
        writer = self._writer
        if writer is None or writer.closed or writer.invalidated:
            await self._open(engine)
        return await _call(self._driver, prepared, commit=True)

    async def _open(self, engine: AsyncEngine) -> None:
        async with self._opening:
            writer = self._writer
            if writer is None or writer.closed or writer.invalidated:
                if writer is not None:
                    await writer.close()
                writer = await engine.connect()
                self._driver = (await writer.get_raw_connection()).driver_connection
                self._writer = writer

    async def close(self) -> None:
        """Give the writer's connection back (before the engine is disposed of)."""
        if self._writer is not None:
            await self._writer.close()
            self._writer = self._driver = None


async def _call(aio: Any, prepared: Prepared, *, commit: bool) -> list[int]:
    try:
        # aiosqlite runs every call on its connection's thread; SQLAlchemy's own adapter
        # hands its calls over the same way.
        ids: list[int] = await aio._execute(_run, aio._conn, prepared, commit)
    except sqlite3.Error as exc:
        raise _translated(exc) from exc
    return ids


def _run(con: sqlite3.Connection, prepared: Prepared, commit: bool) -> list[int]:
    """On the database thread: every statement, then the commit."""
    ids: list[int] = []
    if commit and con.in_transaction:
        con.rollback()  # never build on what a failed step may have left open
    cur = con.cursor()
    try:
        for sql, params, returning in prepared.steps:
            if returning:
                for p in params:
                    cur.execute(sql, p)
                    ids.append(int(cur.lastrowid or 0))
            else:
                cur.executemany(sql, params)
        if commit:
            con.commit()
    except BaseException:
        if commit:
            con.rollback()
        raise
    finally:
        cur.close()
    return ids


def _translated(exc: sqlite3.Error) -> BaseException:
    """The SQLAlchemy exception a statement of the store would have raised."""
    return sa.exc.DBAPIError.instance(None, None, exc, sqlite3.Error)
