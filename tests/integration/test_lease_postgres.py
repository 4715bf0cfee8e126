"""The active gateway's lease in PostgreSQL: one holder, takeover after expiry, the fence.

Runs where PostgreSQL answers on 127.0.0.1:5432 (``tests/pg_support.py``); skipped otherwise.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from gateway import metrics
from gateway.cluster.lease import Lease, LeaseLostError, LeaseTimings, Role
from gateway.store import Store
from gateway.store.lease import FencedError
from gateway.store.records import Writes
from tests.pg_support import fresh_database

FAST = LeaseTimings(renew_s=0.2, hold_s=0.6, ttl_s=1.0)
NAME = "isogate-pair"
T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with fresh_database() as u:
        yield u


def _meta(key: str) -> Writes:
    return Writes(meta={key: 1.0})


async def _acquire(lease: Lease, timeout: float = 20) -> int:
    async with asyncio.timeout(timeout):
        return await lease.acquire()


async def test_the_second_gateway_stands_by_while_the_first_renews(url: str):
    """One holder at a time: the standby does not get the lease while the active renews."""
    async with Lease.open(url, NAME, FAST) as a, Lease.open(url, NAME, FAST) as b:
        assert await _acquire(a) == 1
        holding = asyncio.create_task(a.hold())
        with pytest.raises(TimeoutError):
            await _acquire(b, timeout=3 * FAST.ttl_s)
        assert b.role is Role.STANDBY and b.view() == ("standby", 1)
        assert a.valid() and a.view() == ("active", 1)
        holding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await holding


async def test_a_dead_holder_is_taken_over_with_the_next_epoch(url: str):
    """The holder stops renewing (killed): after the expiry the standby takes epoch 2."""
    before = metrics.TAKEOVERS._value.get()
    async with Lease.open(url, NAME, FAST) as a, Lease.open(url, NAME, FAST) as b:
        await _acquire(a)
        # A is "killed": it never renews. Its own deadline passes before the standby may take.
        assert await _acquire(b) == 2
        assert not a.valid()
        assert b.valid() and b.view() == ("active", 2)
    assert metrics.TAKEOVERS._value.get() == before + 1


async def test_a_clean_stop_hands_the_lease_over(url: str):
    """Releasing on a clean stop: the standby takes the lease without waiting for expiry."""
    async with Lease.open(url, NAME, LeaseTimings(0.2, 30, 60)) as b:
        async with Lease.open(url, NAME, LeaseTimings(0.2, 30, 60)) as a:
            await _acquire(a)
        # With a 60 s expiry, only the release lets B in within the test's 20 s.
        assert await _acquire(b) == 2


async def test_a_commit_after_the_takeover_is_fenced_and_writes_nothing(url: str):
    """A's own clock still says "held" (it runs slow, say), but B took over: the epoch checked
    inside A's transaction refuses the commit, and A knows it lost the lease."""
    slow = LeaseTimings(renew_s=0.2, hold_s=30, ttl_s=60)
    async with (
        Store.open(url) as store,
        Lease.open(url, NAME, slow) as a,
        Lease.open(url, NAME, slow) as b,
    ):
        await _acquire(a)
        store.fence = a.fence
        await store.commit(_meta("before"))
        async with store.engine.begin() as conn:  # the database's clock: A's lease expired
            await conn.execute(sa.text("UPDATE gateway_lease SET expires_at = clock_timestamp()"))
        await _acquire(b)
        assert a.valid()
        with pytest.raises(FencedError):
            await store.commit(_meta("after"))
        assert a.role is Role.LOST
        store.fence = None
        assert await store.meta("before") == 1.0
        assert await store.meta("after") is None


async def test_the_holder_loses_the_lease_by_itself_when_it_cannot_renew(url: str):
    """No renewal reaches the database: the holder's own deadline stops it (hold raises)."""
    async with Store.open(url) as store, Lease.open(url, NAME, FAST) as a:
        await _acquire(a)
        lost: list[str] = []
        a.on_lost(lost.append)
        a.url = "postgresql+asyncpg://postgres@127.0.0.1:1/none"  # nothing listens: all fail
        with pytest.raises(LeaseLostError):
            async with asyncio.timeout(10):
                await a.hold()
        assert lost and "not renewed" in lost[0]
        store.fence = a.fence
        with pytest.raises(FencedError):
            await store.commit(_meta("late"))


async def test_a_holder_frozen_inside_a_commit_does_not_block_the_takeover(url: str):
    """A holds the lease row FOR SHARE in an open transaction and freezes: PostgreSQL ends its
    session after the idle timeout, B takes over, and A's transaction never commits."""
    async with (
        Store.open(url) as store,
        Lease.open(url, NAME, FAST) as a,
        Lease.open(url, NAME, FAST) as b,
    ):
        await _acquire(a)
        store.fence = a.fence
        frozen = store.engine.begin()
        conn = await frozen.__aenter__()
        await a.fence(conn)  # the row is now locked FOR SHARE by A's open transaction
        assert await _acquire(b) == 2
        with pytest.raises(sa.exc.DBAPIError):
            await conn.execute(sa.text("SELECT 1"))
        with contextlib.suppress(Exception):
            await frozen.__aexit__(None, None, None)
