"""The audit log: every read of a household's personal data and every action, with who, what,
when and how it arrived; ``GET /api/v1/audit`` for admins.

Routes call :func:`audited` once the caller is known to be allowed: one INSERT of its own, apart
from the ingest's transactions. Actions written (``action``): ``login``, ``login_failed``,
``logout``, ``ack``, ``resolve``, ``step``, ``handover_accept``, ``bind``, ``user_add``,
``user_revoke``, ``notice_receipt``, and the paperwork's (written by the care desk)
``prereport``, ``symptoms``, ``service_request``, ``service_done``, ``visit``, ``signoff``,
``release``, ``link_made``, ``link_rotated``; ``purge`` (the retention purge: the system or the
CLI); reads: ``read_household``, ``read_events``, ``read_readings``, ``read_timeline``,
``read_alert``, ``read_snapshot``, ``read_evidence``, ``notice_read``, ``release_report_read``,
``read_releases``, ``read_link`` (the resident page's link: a capability), ``read_visits``,
``read_visits_due``, ``read_services``, ``read_signoffs``, ``read_release_due``,
``read_temperature_log``, ``read_daily_report``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.auth import User, require_role
from api.context import ApiContext, Authed, Ctx, errors, local_iso
from gateway.store.audit import AUDIT_LIST_MAX
from gateway.store.records import AuditEntry

router = APIRouter(prefix="/api/v1", tags=["audit"])


def audit_entry(
    ctx: ApiContext,
    user: User,
    action: str,
    *,
    target: str | None = None,
    household: str | None = None,
    detail: str | None = None,
) -> AuditEntry:
    """An audit entry for what ``user`` reads or does, now, as it arrived (``user.via``)."""
    return AuditEntry(
        at=ctx.now(),
        actor=user.name,
        role=user.role,
        action=action,
        via=user.via,
        target=target,
        household=household,
        detail=detail,
    )


async def audited(
    ctx: ApiContext,
    user: User,
    action: str,
    *,
    target: str | None = None,
    household: str | None = None,
    detail: str | None = None,
) -> None:
    """Write one audit entry for what ``user`` read or did (a read, or an action whose own
    store operation cannot carry the entry)."""
    entry = audit_entry(ctx, user, action, target=target, household=household, detail=detail)
    await ctx.store.append_audit([entry])


class AuditOut(BaseModel):
    """One entry of the audit log."""

    at: str = Field(json_schema_extra={"format": "date-time"})
    actor: str = Field(description="a user name, or who a failed login claimed to be")
    role: str
    action: str = Field(description="login, ack, resolve, read_household, …")
    target: str | None = Field(description="an alert id, a user name, a device address")
    household: str | None
    via: str = Field(description="console, rest, mqtt, cli or link")
    detail: str | None


@router.get("/audit", responses=errors(401, 403))
async def audit_log(
    ctx: Ctx,
    user: Authed,
    since: Annotated[datetime | None, Query(description="entries at or after this time")] = None,
    actor: str | None = None,
    household: str | None = None,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=AUDIT_LIST_MAX)] = 500,
) -> list[AuditOut]:
    """The audit log, newest first (admins only)."""
    require_role(user, ("admin",), "the audit log")
    tz = ctx.desk.directory.tz
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=tz)  # a time without offset is the site's
    entries = await ctx.store.list_audit(
        since=since, actor=actor, household=household, action=action, limit=limit
    )
    return [
        AuditOut(
            at=local_iso(ctx, e.at),
            actor=e.actor,
            role=e.role,
            action=e.action,
            target=e.target,
            household=e.household,
            via=e.via,
            detail=e.detail,
        )
        for e in entries
    ]
