"""A fresh PostgreSQL database per test, on the server at 127.0.0.1:5432 (trust auth).

Skips the test, saying why, where no server answers or the ``postgres`` extra (asyncpg) is not
installed — the same convention as the store's PostgreSQL tests.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@contextlib.asynccontextmanager
async def fresh_database() -> AsyncIterator[str]:
    """Create a database, yield its SQLAlchemy URL (asyncpg), drop it afterwards."""
    asyncpg = pytest.importorskip("asyncpg", reason="the postgres extra (asyncpg) is not installed")
    name = f"isogate_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
