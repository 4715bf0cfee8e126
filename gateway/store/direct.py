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

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.plan import Op, Statements

_Params = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement as SQLite runs it: its text, and how a row dict becomes its parameters."""

    sql: str
    fields: tuple[tuple[str | None, Any, Callable[[Any], Any] | None], ...]
    """Per ``?``: the row key (None: a constant of the statement), the constant, the processor."""

    def params(self, row: dict[str, Any]) -> _Params:
        return tuple(
            const if key is None else (proc(row[key]) if proc else row[key])
            for key, const, proc in self.fields
        )


@dataclass(frozen=True, slots=True)
class Prepared:
    """A plan ready to run on the database thread: (sql, parameter rows, returns ids)."""

    steps: tuple[tuple[str, list[_Params], bool], ...]


class SqliteDirect:
    """Compiles planned statements for SQLite (once per statement and set of keys) and runs
    them on the driver."""

    def __init__(self, statements: Statements) -> None:
        self.statements = statements
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def _compile(self, op: Op, keys: tuple[str, ...]) -> _Compiled:
        found = self._compiled.get((op.name, keys))
        if found is not None:
            return found
        dialect = self.statements.dialect
        # The outbox's ids come from the cursor, one row at a time: no RETURNING here.
        stmt = self.statements.by_name[op.name]
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys))
        fields = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name in keys:
                fields.append((name, None, proc))
            else:
                value = bind.effective_value
                fields.append((None, proc(value) if proc else value, None))
        found = _Compiled(str(compiled), tuple(fields))
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

    async def run(self, conn: AsyncConnection, prepared: Prepared, *, commit: bool) -> list[int]:
        """Run a prepared plan on ``conn``'s sqlite3 connection, in one call on its thread.

        With ``commit`` the plan is its own transaction (committed, or rolled back on error);
        without, it joins the transaction ``conn`` has open. Returns the ids of the rows of
        the op that returns them.
        """
        raw = await conn.get_raw_connection()
        aio = raw.driver_connection
        assert aio is not None
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
