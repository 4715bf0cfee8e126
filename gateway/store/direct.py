"""A planned step on SQLite's driver directly: compiled once, run with ``executemany``.

Through SQLAlchemy's asyncio layer every statement is three or four round trips to aiosqlite's
thread (cursor, execute, fetch, close), each a queue hand-off and a wake-up of the event loop,
and a step of seven statements spent more on those than on SQLite. Here the statements of a
:func:`gateway.store.plan.plan` are compiled once by SQLAlchemy for SQLite (text, parameter
order, type processors such as JSON's) and their rows turned into parameter tuples; they run on
a ``sqlite3`` connection in one go: the store's writer (:mod:`gateway.store.writer`), or, inside
a transaction SQLAlchemy has open, that connection's aiosqlite thread in one call. Errors come
back as SQLAlchemy's exception classes, as from the rest of the store.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store.plan import Op, Statements

_Params = tuple[Any, ...]


_Field = tuple[str | None, Any, Callable[[Any], Any] | None]


class _Compiled:
    """A statement as SQLite runs it: its text, and how a row (a dict, or the values of its
    keys) becomes its parameters."""

    def __init__(self, sql: str, fields: list[_Field], given: tuple[str, ...]) -> None:
        """``fields``: per ``?``, the row key (None: a constant of the statement, such as a
        literal in its WHERE clause), the constant, and the type's processor (JSON's).
        ``given``: the keys of the rows, in the order :meth:`values` takes them."""
        self.sql = sql
        self._fields = fields
        keys = [key for key, _, _ in fields]
        # Rows given as values (Op.keys): rearranged only where the statement's order differs.
        self._order: Callable[[tuple[Any, ...]], _Params] | None = None
        if tuple(keys) != given:
            at = [
                (None, const) if key is None else (given.index(key), None)
                for key, const, _ in fields
            ]
            self._order = lambda row: tuple(const if i is None else row[i] for i, const in at)
        # The usual statement has no constants: one C-level look-up of all keys of a row.
        self._get = itemgetter(*keys) if keys and None not in keys else None
        self._single = len(keys) == 1
        self._procs = [(i, proc) for i, (_, _, proc) in enumerate(fields) if proc is not None]

    def values(self, row: tuple[Any, ...]) -> _Params:
        """The statement's parameters for one row given as the values of its keys, in the
        order the statement was compiled for (see :meth:`SqliteDirect.prepare`)."""
        return self._processed(row if self._order is None else self._order(row))

    def params(self, row: dict[str, Any]) -> _Params:
        """The statement's parameters for one row."""
        get = self._get
        if get is None:
            return tuple(
                const if key is None else (proc(row[key]) if proc else row[key])
                for key, const, proc in self._fields
            )
        return self._processed((get(row),) if self._single else get(row))

    def _processed(self, values: _Params) -> _Params:
        """``values`` in the statement's order, each through its type's processor if it has one."""
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
        fields: list[_Field] = []
        for name in compiled.positiontup or ():
            bind = compiled.binds[name]
            proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None and getattr(bind.type, "memoized", False):
                proc = _memoized(proc)
            if name in keys:
                fields.append((name, None, proc))
            else:
                value = bind.effective_value
                fields.append((None, proc(value) if proc else value, None))
        found = _Compiled(str(compiled), fields, keys)
        self._compiled[(op.name, keys)] = found
        return found

    def prepare(self, ops: Sequence[Op]) -> Prepared:
        """Parameters for every row of every op (on the event loop, before the hand-off)."""
        steps = []
        for op in ops:
            keys = op.keys
            if keys is not None:
                c = self._compile(op, keys)
                values = c.values
                params = [values(r) for r in op.rows]  # type: ignore[arg-type]
            else:
                keys = tuple(op.rows[0]) if op.rows else ()
                c = self._compile(op, keys)
                params = [c.params(r) for r in op.rows] if op.rows else [c.params({})]  # type: ignore[arg-type]
            steps.append((c.sql, params, op.returning))
        return Prepared(tuple(steps))

    async def run(self, conn: AsyncConnection, prepared: Prepared) -> list[int]:
        """Run a prepared plan inside the transaction ``conn`` has open, in one call on its
        thread; returns the ids of the rows of the op that returns them."""
        aio: Any = (await conn.get_raw_connection()).driver_connection
        try:
            # aiosqlite runs every call on its connection's thread; SQLAlchemy's own adapter
            # hands its calls over the same way.
            ids: list[int] = await aio._execute(execute, aio._conn, prepared)
        except sqlite3.Error as exc:
            raise translated(exc) from exc
        return ids


MEMO_MAX = 4096
"""Values whose bound form is kept per memoized processor (then the memory starts again)."""


def _memoized(proc: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``proc`` with the result for each value kept (values are hashable: frozen dataclasses)."""
    memo: dict[Any, Any] = {}

    def bound(value: Any) -> Any:
        found = memo.get(value, memo)
        if found is memo:
            if len(memo) >= MEMO_MAX:
                memo.clear()
            found = memo[value] = proc(value)
        return found

    return bound


def execute(con: sqlite3.Connection, prepared: Prepared) -> list[int]:
    """Every statement of a prepared plan, in the transaction ``con`` has open; the ids of the
    rows of the op that returns them."""
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
    finally:
        cur.close()
    return ids


def translated(exc: sqlite3.Error) -> BaseException:
    """The SQLAlchemy exception a statement of the store would have raised."""
    return sa.exc.DBAPIError.instance(None, None, exc, sqlite3.Error)
