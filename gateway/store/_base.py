"""The store's engine: opening the database, transactions, the meta table."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway.store import schema as t

log = logging.getLogger("isogate.store")


class StoreBase:
    """Connection and transactions shared by the store's operations."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.fence: Callable[[AsyncConnection], Awaitable[None]] | None = None
        """Run first in every writing transaction: the active gateway's lease check (two
        gateways on one PostgreSQL, :mod:`gateway.cluster`); it raises to refuse the commit."""

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str) -> AsyncIterator[Self]:
        """Connect, bring the schema up to date, and dispose of the engine on exit."""
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **_engine_options(url))
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine.sync_engine, "connect", sqlite_pragmas)
        try:
            async with engine.begin() as conn:
                was = await conn.run_sync(t.upgrade)
            if was != t.SCHEMA_VERSION:
                log.info("database schema %s → %s", was or "new", t.SCHEMA_VERSION)
            store = cls(engine)
            try:
                yield store
            finally:
                await store.close()
        finally:
            await engine.dispose()

    async def close(self) -> None:
        """Give back connections an operation holds for the store's life (none here)."""

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            if self.fence is not None:
                await self.fence(conn)
            yield conn

    async def ping(self) -> bool:
        """Whether the database answers."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception:  # any driver error means "down" for /healthz
            return False
        return True

    async def meta(self, key: str) -> Any:
        """A value the gateway keeps across restarts (e.g. the time of the last tick)."""
        async with self.engine.connect() as conn:
            return await _meta(conn, key)


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # pysqlite opens a transaction only for writes, and every write here commits: the
        # ROLLBACK the pool would issue on each check-in is a wasted round trip to the
        # database thread (one per transaction, on the hot path).
        return {"pool_reset_on_return": None}
    return {}


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """The settings of every connection to a SQLite store (SQLAlchemy's and the writer's)."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a killed process (only a power cut can lose the last commit).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


async def _meta(conn: AsyncConnection, key: str) -> Any:
    q = sa.select(t.site_meta.c.value).where(t.site_meta.c.key == key)
    return (await conn.execute(q)).scalar()


async def _set_meta(conn: AsyncConnection, key: str, value: Any) -> None:
    done = await conn.execute(
        t.site_meta.update().where(t.site_meta.c.key == key).values(value=value)
    )
    if done.rowcount == 0:
        await conn.execute(t.site_meta.insert().values(key=key, value=value))
