"""The active gateway's lease, in PostgreSQL: who holds it, its epoch, until when.

One row per shared MQTT session (``name`` is the client id both gateways use). Taking the lease
bumps ``epoch``; every commit of the holder checks its epoch in the same transaction (the fence,
:func:`check_fence`), so a gateway that lost the lease cannot write after the next one took it.
All times are PostgreSQL's own clock (``clock_timestamp()``): the two gateways never compare
their clocks with each other, only with the database's.

PostgreSQL only: SQLite is one box, with nobody to hand over to.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

TABLE = "gateway_lease"

_CREATE = sa.text(
    f"""
    CREATE TABLE IF NOT EXISTS {TABLE} (
        name text PRIMARY KEY,
        holder text,
        epoch bigint NOT NULL,
        expires_at timestamptz NOT NULL,
        taken_at timestamptz NOT NULL
    )"""
)

# Free, expired or released: the caller takes it with the next epoch. ``lock_timeout``: a
# frozen holder in the middle of a commit holds the row (FOR SHARE) until PostgreSQL ends its
# session; the taker tries again rather than hang.
_TAKE = sa.text(
    f"""
    INSERT INTO {TABLE} AS l (name, holder, epoch, expires_at, taken_at)
    VALUES (:name, :holder, 1, clock_timestamp() + make_interval(secs => :ttl), clock_timestamp())
    ON CONFLICT (name) DO UPDATE
        SET holder = :holder, epoch = l.epoch + 1,
            expires_at = clock_timestamp() + make_interval(secs => :ttl),
            taken_at = clock_timestamp()
        WHERE l.holder IS NULL OR l.expires_at <= clock_timestamp()
    RETURNING epoch"""
)

_RENEW = sa.text(
    f"""
    UPDATE {TABLE} SET expires_at = clock_timestamp() + make_interval(secs => :ttl)
    WHERE name = :name AND holder = :holder AND epoch = :epoch
      AND expires_at > clock_timestamp()
    RETURNING epoch"""
)

_RELEASE = sa.text(
    f"""
    UPDATE {TABLE} SET holder = NULL, expires_at = clock_timestamp()
    WHERE name = :name AND holder = :holder AND epoch = :epoch"""
)

_STATE = sa.text(
    f"""
    SELECT holder, epoch, EXTRACT(EPOCH FROM expires_at - clock_timestamp())
    FROM {TABLE} WHERE name = :name"""
)

# The fence: the holder's epoch, still unexpired, read FOR SHARE so that no taker can bump it
# until this transaction ends. The transaction-local idle timeout makes PostgreSQL end the
# session of a holder frozen mid-transaction (SIGSTOP, a cut cable), releasing the row.
_FENCE = sa.text(
    f"""
    SELECT epoch, expires_at > clock_timestamp(),
           set_config('idle_in_transaction_session_timeout', :idle, true)
    FROM {TABLE} WHERE name = :name FOR SHARE"""
)


class FencedError(Exception):
    """A commit refused: the lease of ``epoch`` is no longer this gateway's."""

    def __init__(self, name: str, epoch: int, found: int | None, why: str) -> None:
        super().__init__(f"lease {name!r} epoch {epoch}: {why}")
        self.name = name
        self.epoch = epoch
        self.found = found
        self.why = why


@dataclass(frozen=True, slots=True)
class LeaseRow:
    """The lease as the database has it: ``holder`` None when released or never taken."""

    holder: str | None
    epoch: int
    expires_in_s: float


async def ensure_table(conn: AsyncConnection) -> None:
    """Create the lease table when missing (two gateways starting at once: serialised)."""
    await conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:t))"), {"t": TABLE})
    await conn.execute(_CREATE)


async def take(
    conn: AsyncConnection, name: str, holder: str, ttl_s: float, wait_s: float
) -> int | None:
    """Take the lease when free or expired; its new epoch, or None while another holds it."""
    await conn.execute(
        sa.text("SELECT set_config('lock_timeout', :ms, true)"), {"ms": f"{int(wait_s * 1000)}"}
    )
    got = await conn.execute(_TAKE, {"name": name, "holder": holder, "ttl": ttl_s})
    return got.scalar()


async def renew(conn: AsyncConnection, name: str, holder: str, epoch: int, ttl_s: float) -> bool:
    """Extend the holder's lease by ``ttl_s`` from now; False when it is no longer held."""
    got = await conn.execute(_RENEW, {"name": name, "holder": holder, "epoch": epoch, "ttl": ttl_s})
    return got.scalar() is not None


async def release(conn: AsyncConnection, name: str, holder: str, epoch: int) -> None:
    """Give the lease up at once (a clean stop): the standby need not wait for it to expire."""
    await conn.execute(_RELEASE, {"name": name, "holder": holder, "epoch": epoch})


async def state(conn: AsyncConnection, name: str) -> LeaseRow | None:
    """The lease row, or None when nobody ever took it."""
    row = (await conn.execute(_STATE, {"name": name})).first()
    if row is None:
        return None
    return LeaseRow(row[0], int(row[1]), float(row[2]))


async def check_fence(conn: AsyncConnection, name: str, epoch: int, idle_s: float) -> None:
    """Inside a writing transaction: go on only while ``epoch`` is the lease's, unexpired.

    Raises:
        FencedError: another gateway took the lease, or it expired.
    """
    row = (await conn.execute(_FENCE, {"name": name, "idle": f"{int(idle_s * 1000)}ms"})).first()
    if row is None:
        raise FencedError(name, epoch, None, "no lease row")
    if int(row[0]) != epoch:
        raise FencedError(name, epoch, int(row[0]), f"taken over (epoch {row[0]})")
    if not row[1]:
        raise FencedError(name, epoch, epoch, "expired")
