"""Running planned statements (:mod:`gateway.store.plan`) on the store's engine.

On SQLite (aiosqlite) a plan runs on the driver in one go (:mod:`gateway.store.direct`), on
the store's writer (:mod:`gateway.store.writer`) when it is a transaction of its own;
elsewhere through SQLAlchemy, each op one ``execute`` with all its rows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.store._base import StoreBase, sqlite_pragmas
from gateway.store.direct import SqliteDirect
from gateway.store.plan import Op, Statements
from gateway.store.writer import SqliteWriter


class PlannedOps(StoreBase):
    """The store's way of running a plan: one transaction, the fewest round trips."""

    @cached_property
    def statements(self) -> Statements:
        """The planned statements for this engine's dialect."""
        return Statements(self.engine.dialect)

    @cached_property
    def _direct(self) -> SqliteDirect | None:
        if self.engine.dialect.name == "sqlite" and self.engine.dialect.driver == "aiosqlite":
            return SqliteDirect(self.statements)
        return None

    @cached_property
    def _writer(self) -> SqliteWriter | None:
        """The writer of a SQLite file (an in-memory database has no second connection)."""
        path = self.engine.url.database
        if self._direct is None or not path or path == ":memory:" or self.engine.url.query:
            return None
        return SqliteWriter(path, sqlite_pragmas)

    async def close(self) -> None:
        """Close the SQLite writer's connection."""
        if "_writer" in self.__dict__ and self._writer is not None:
            self._writer.close()

    async def run_plan(
        self,
        ops: list[Op],
        rest: Callable[[AsyncConnection], Awaitable[None]] | None = None,
    ) -> list[int]:
        """Run ``ops`` and then ``rest`` (SQLAlchemy statements) in one transaction.

        Returns the ids of the rows of the op that returns them (the outbox's).
        """
        direct = self._direct
        if direct is not None:
            prepared = direct.prepare(ops)
            if rest is None and self._writer is not None:
                return await self._writer.run(prepared)
            async with self._tx() as conn:
                ids = await direct.run(conn, prepared)
                if rest is not None:
                    await rest(conn)
                return ids
        async with self._tx() as conn:
            ids = await _through_sqlalchemy(conn, self.statements, ops)
            if rest is not None:
                await rest(conn)
            return ids


async def _through_sqlalchemy(
    conn: AsyncConnection, statements: Statements, ops: list[Op]
) -> list[int]:
    """Planned statements through SQLAlchemy, each with all its rows; the returned ids."""
    ids: list[int] = []
    for op in ops:
        stmt = statements.statement(op)
        if not op.rows:
            await conn.execute(stmt)
        elif op.returning:
            ids = [i for (i,) in await conn.execute(stmt, op.dicts())]
        else:
            await conn.execute(stmt, op.dicts())
    return ids
