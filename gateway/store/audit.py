"""The audit log: who read or did what, when. Append-only: there is no operation that changes
or removes an entry."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gateway.clock import epoch, from_epoch
from gateway.store import schema as t
from gateway.store._base import StoreBase
from gateway.store.records import AuditEntry

AUDIT_LIST_MAX = 5000
"""The most entries one ``list_audit`` returns."""


def _fit(text: str | None, column: sa.Column[Any]) -> str | None:
    """Text cut to its column's width (a note or a name is the caller's; the log takes it)."""
    width: int | None = getattr(column.type, "length", None)
    return None if text is None or width is None else text[:width]


def audit_rows(entries: Sequence[AuditEntry]) -> list[dict[str, Any]]:
    """Audit entries as rows of the audit table."""
    c = t.audit.c
    return [
        {
            "at": epoch(e.at),
            "actor": _fit(e.actor, c.actor),
            "role": _fit(e.role, c.role),
            "action": _fit(e.action, c.action),
            "target": _fit(e.target, c.target),
            "household": _fit(e.household, c.household),
            "via": _fit(e.via, c.via),
            "detail": _fit(e.detail, c.detail),
        }
        for e in entries
    ]


class AuditOps(StoreBase):
    """Operations on the audit log."""

    async def append_audit(self, entries: Sequence[AuditEntry]) -> None:
        """Write entries in one transaction (one INSERT for any number of them)."""
        if not entries:
            return
        async with self._tx() as conn:
            await conn.execute(t.audit.insert(), audit_rows(entries))

    async def list_audit(
        self,
        *,
        since: datetime | None = None,
        actor: str | None = None,
        household: str | None = None,
        action: str | None = None,
        limit: int = 500,
    ) -> list[AuditEntry]:
        """Entries, newest first, filtered; at most ``limit`` (capped at AUDIT_LIST_MAX)."""
        a = t.audit
        q = sa.select(a).order_by(a.c.id.desc()).limit(max(1, min(limit, AUDIT_LIST_MAX)))
        if since is not None:
            q = q.where(a.c.at >= epoch(since))
        if actor is not None:
            q = q.where(a.c.actor == actor)
        if household is not None:
            q = q.where(a.c.household == household)
        if action is not None:
            q = q.where(a.c.action == action)
        async with self.engine.connect() as conn:
            return [
                AuditEntry(
                    at=from_epoch(r["at"]),
                    actor=r["actor"],
                    role=r["role"],
                    action=r["action"],
                    via=r["via"],
                    target=r["target"],
                    household=r["household"],
                    detail=r["detail"],
                )
                for r in (await conn.execute(q)).mappings()
            ]
