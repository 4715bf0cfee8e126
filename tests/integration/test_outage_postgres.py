"""What PostgreSQL says while it restarts is an outage to wait out, not a message to set aside.

A PostgreSQL restart under load once lost a breach: "the database system is shutting down"
reached ingest as a plain DBAPIError (asyncpg's errors are not OperationalErrors), so the batch
was split and the message holding the breach set aside as rejected. These errors are real ones,
raised by the server on 127.0.0.1:5432 (skipped where none answers).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from gateway.ingest.worker import is_outage
from tests.pg_support import fresh_database


async def _error_of(url: str, statement: str) -> sa.exc.DBAPIError:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as con:
            with pytest.raises(sa.exc.DBAPIError) as caught:
                await con.execute(sa.text(statement))
        return caught.value
    finally:
        await engine.dispose()


async def test_a_session_the_server_ends_is_an_outage():
    async with fresh_database() as url:
        # The server ends the session as it does when it shuts down.
        exc = await _error_of(url, "SELECT pg_terminate_backend(pg_backend_pid())")
    assert is_outage(exc)


@pytest.mark.parametrize(
    ("statement", "state"),
    [
        ("SELECT 1/0", "22012"),  # division by zero: the row is at fault
        ("SELECT * FROM no_such_table", "42P01"),  # a statement the server refuses
        ("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '40P01'; END $$", "40P01"),  # deadlock
        ("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '53100'; END $$", "53100"),  # disk full
        # "the database system is shutting down", what a restart answered
        ("DO $$ BEGIN RAISE EXCEPTION USING ERRCODE = '57P03'; END $$", "57P03"),
    ],
)
async def test_a_refusal_is_not_an_outage_and_a_transient_state_is(statement: str, state: str):
    async with fresh_database() as url:
        exc = await _error_of(url, statement)
    assert getattr(exc.orig, "sqlstate", None) == state
    assert is_outage(exc) == (state[:2] in ("40", "53", "57"))
