"""API and console users: tokens kept only as hashes."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa

from gateway.clock import epoch
from gateway.store import schema as t
from gateway.store._base import StoreBase


def token_hash(token: str) -> str:
    """How API tokens are kept: never in clear."""
    return hashlib.sha256(token.encode()).hexdigest()


class UsersOps(StoreBase):
    """Operations on users."""

    async def add_user(self, name: str, role: str, token: str, at: datetime) -> None:
        """Add an API/console user; only the token's hash is kept."""
        async with self._tx() as conn:
            await conn.execute(
                t.users.insert().values(
                    name=name, role=role, token_hash=token_hash(token), created_at=epoch(at)
                )
            )

    async def user_by_token(self, token: str) -> tuple[str, str] | None:
        """(name, role) of the user holding a token."""
        q = sa.select(t.users.c.name, t.users.c.role).where(
            t.users.c.token_hash == token_hash(token)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(q)).first()
        return (row[0], row[1]) if row else None
