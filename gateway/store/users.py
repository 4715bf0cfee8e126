"""API and console users and their sessions: tokens and session ids kept only as hashes.

A token or session id is looked up by its hash (an indexed equality, which leaks nothing useful
about the secret), and the stored hash is then compared again in constant time, so that no
answer's timing depends on how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

import sqlalchemy as sa

from gateway.clock import epoch, from_epoch
from gateway.store import schema as t
from gateway.store._base import StoreBase
from gateway.store.records import SessionRecord, UserRecord


def token_hash(token: str) -> str:
    """How API tokens and session ids are kept: never in clear."""
    return hashlib.sha256(token.encode()).hexdigest()


class UsersOps(StoreBase):
    """Operations on users and their console sessions."""

    async def add_user(self, name: str, role: str, token: str, at: datetime) -> None:
        """Add an API/console user; only the token's hash is kept."""
        async with self._tx() as conn:
            await conn.execute(
                t.users.insert().values(
                    name=name, role=role, token_hash=token_hash(token), created_at=epoch(at)
                )
            )

    async def user_by_token(self, token: str) -> tuple[str, str] | None:
        """(name, role) of the user holding a token that is not revoked."""
        wanted = token_hash(token)
        q = sa.select(t.users.c.name, t.users.c.role, t.users.c.token_hash).where(
            t.users.c.token_hash == wanted, t.users.c.revoked_at.is_(None)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(q)).first()
        if row is None or not hmac.compare_digest(row[2], wanted):
            return None
        return (row[0], row[1])

    async def list_users(self, now: datetime) -> list[UserRecord]:
        """Every token ever issued (oldest first), with its user's live sessions at ``now``."""
        s = t.sessions
        live = (
            sa.select(s.c.user_name, sa.func.count().label("n"))
            .where(s.c.ended_at.is_(None), s.c.expires_at > epoch(now))
            .group_by(s.c.user_name)
            .subquery()
        )
        u = t.users
        q = (
            sa.select(u.c.name, u.c.role, u.c.created_at, u.c.revoked_at, live.c.n)
            .select_from(u.outerjoin(live, live.c.user_name == u.c.name))
            .order_by(u.c.id)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(q)).all()
        return [
            UserRecord(
                name=r[0],
                role=r[1],
                created_at=from_epoch(r[2]),
                revoked_at=None if r[3] is None else from_epoch(r[3]),
                active_sessions=0 if r[3] is not None else int(r[4] or 0),
            )
            for r in rows
        ]

    async def revoke_user(self, name: str, at: datetime) -> int:
        """End every token and every console session of ``name``; how many tokens were live."""
        async with self._tx() as conn:
            tokens = await conn.execute(
                t.users.update()
                .where(t.users.c.name == name, t.users.c.revoked_at.is_(None))
                .values(revoked_at=epoch(at))
            )
            await conn.execute(
                t.sessions.update()
                .where(t.sessions.c.user_name == name, t.sessions.c.ended_at.is_(None))
                .values(ended_at=epoch(at))
            )
        return int(tokens.rowcount or 0)

    async def create_session(self, session: SessionRecord) -> None:
        """Keep a new console session (its id already hashed)."""
        async with self._tx() as conn:
            await conn.execute(
                t.sessions.insert().values(
                    id_hash=session.id_hash,
                    user_name=session.user_name,
                    role=session.role,
                    csrf=session.csrf,
                    created_at=epoch(session.created_at),
                    expires_at=epoch(session.expires_at),
                )
            )

    async def session_by_id(self, session_id: str, now: datetime) -> SessionRecord | None:
        """The live session whose cookie holds ``session_id``: not ended, not expired at ``now``."""
        wanted = token_hash(session_id)
        s = t.sessions
        q = sa.select(s).where(
            s.c.id_hash == wanted, s.c.ended_at.is_(None), s.c.expires_at > epoch(now)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(q)).mappings().first()
        if row is None or not hmac.compare_digest(row["id_hash"], wanted):
            return None
        return SessionRecord(
            id_hash=row["id_hash"],
            user_name=row["user_name"],
            role=row["role"],
            csrf=row["csrf"],
            created_at=from_epoch(row["created_at"]),
            expires_at=from_epoch(row["expires_at"]),
        )

    async def end_session(self, session_id: str, at: datetime) -> bool:
        """Log a session out; whether it was live."""
        async with self._tx() as conn:
            done = await conn.execute(
                t.sessions.update()
                .where(t.sessions.c.id_hash == token_hash(session_id))
                .where(t.sessions.c.ended_at.is_(None))
                .values(ended_at=epoch(at))
            )
        return bool(done.rowcount)
