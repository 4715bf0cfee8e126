"""The watch roster (on duty now, next, coverage gaps) and shift handovers."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from api.audit import audit_entry
from api.auth import User
from api.context import ApiContext, Authed, Ctx, alert_out, errors, local_iso
from api.models import AlertOut
from gateway.alerting.handover import handing
from gateway.store.records import Handover
from rules.alerts import AlertStatus
from rules.coverage import gaps
from rules.roster import Duty, on_duty_and_next

router = APIRouter(prefix="/api/v1", tags=["roster"])

GAPS_AHEAD = timedelta(hours=24)
"""How far ahead the roster looks for coverage gaps."""

Households = list[str] | Literal["all"]


class OnDutyOut(BaseModel):
    """A watcher on duty now, until when."""

    watcher: str
    name: str | None = Field(description="the staff member's name; null if not in the site")
    households: Households
    until: str = Field(json_schema_extra={"format": "date-time"})


class NextOut(BaseModel):
    """A watcher whose shift starts next, from when."""

    watcher: str
    name: str | None
    households: Households
    from_: str = Field(alias="from", json_schema_extra={"format": "date-time"})


class GapOut(BaseModel):
    """A stretch in which no watcher covers a household under isolation."""

    household: str
    from_: str = Field(alias="from", json_schema_extra={"format": "date-time"})
    to: str = Field(json_schema_extra={"format": "date-time"})


class RosterOut(BaseModel):
    """Who is on duty now and next, and the gaps of the next 24 hours."""

    now: list[OnDutyOut]
    next: list[NextOut]
    gaps: list[GapOut]


class AcceptedOut(BaseModel):
    """Who accepted a handover, when."""

    by: str
    at: str = Field(json_schema_extra={"format": "date-time"})


class HandoverOut(BaseModel):
    """A shift handover and where it stands."""

    id: str
    at: str = Field(description="the shift change", json_schema_extra={"format": "date-time"})
    from_: list[str] = Field(alias="from", description="watchers on duty before it")
    to: list[str] = Field(description="watchers on duty after it: they accept")
    open_alerts: list[AlertOut] = Field(
        description="handed-over alerts still unresolved (acknowledged ones too), in scope"
    )
    accepted: list[AcceptedOut]
    escalated_at: str | None = Field(
        description="when its open alerts escalated, nobody having accepted it in time",
        json_schema_extra={"format": "date-time"},
    )


def _cover(d: Duty) -> Households:
    return "all" if d.households == "all" else list(d.households)


@router.get("/roster", responses=errors(401))
async def roster(ctx: Ctx, user: Authed) -> RosterOut:
    """Who watches now and until when, who comes next, and the coverage gaps of the next day
    (of the households in the caller's scope)."""
    d = ctx.desk.directory
    now = ctx.ops.clock.now()
    current, upcoming = on_duty_and_next(d.shifts, now, d.tz)
    scope = user.households(d)

    def name(watcher: str) -> str | None:
        staff = d.staff.get(watcher)
        return staff.name if staff else None

    return RosterOut(
        now=[
            OnDutyOut(
                watcher=x.watcher,
                name=name(x.watcher),
                households=_cover(x),
                until=local_iso(ctx, x.end, "seconds"),
            )
            for x in current
        ],
        next=[
            NextOut.model_validate(
                {
                    "watcher": x.watcher,
                    "name": name(x.watcher),
                    "households": _cover(x),
                    "from": local_iso(ctx, x.start, "seconds"),
                }
            )
            for x in upcoming
        ],
        gaps=[
            GapOut.model_validate(
                {
                    "household": g.household,
                    "from": local_iso(ctx, g.start, "seconds"),
                    "to": local_iso(ctx, g.end, "seconds"),
                }
            )
            for g in gaps(d, now, now + GAPS_AHEAD)
            if scope is None or g.household in scope
        ],
    )


async def _out(ctx: ApiContext, user: User, h: Handover) -> HandoverOut:
    d = ctx.desk.directory
    before, _ = handing(d, h.at)
    alerts = [
        a
        for a in await ctx.store.alerts_by_id(h.alert_ids)
        if a.status is not AlertStatus.RESOLVED and user.may_see(a.household_id, d)
    ]
    accepted = []
    if h.accepted_by is not None and h.accepted_at is not None:
        accepted = [AcceptedOut(by=h.accepted_by, at=local_iso(ctx, h.accepted_at, "seconds"))]
    return HandoverOut.model_validate(
        {
            "id": h.id,
            "at": local_iso(ctx, h.at, "seconds"),
            "from": before,
            "to": list(h.watchers),
            "open_alerts": [alert_out(ctx, a) for a in alerts],
            "accepted": accepted,
            "escalated_at": local_iso(ctx, h.escalated_at, "seconds") if h.escalated_at else None,
        }
    )


@router.get("/handover", responses=errors(401, 404))
async def latest_handover(ctx: Ctx, user: Authed) -> HandoverOut:
    """The latest shift handover (404 before the first shift change)."""
    h = await ctx.store.latest_handover()
    if h is None:
        raise HTTPException(404, "no handover yet")
    return await _out(ctx, user, h)


@router.post("/handover/{handover_id}/accept", responses=errors(401, 403, 404))
async def accept_handover(ctx: Ctx, handover_id: str, user: Authed) -> HandoverOut:
    """Accept a handover by name: a watcher it was handed to, a supervisor or an admin. Each
    handed-over alert's history records it ("accepted"); the first acceptance stops its
    escalation."""
    h = await ctx.store.get_handover(handover_id)
    if h is None:
        raise HTTPException(404, f"no handover {handover_id}")
    if user.role not in ("supervisor", "admin") and user.name not in h.watchers:
        raise HTTPException(403, f"handover {handover_id} was not handed to {user.name}")
    entry = audit_entry(ctx, user, "handover_accept", target=handover_id)
    accepted = await ctx.store.accept_handover(handover_id, user.name, entry.at, user.via, entry)
    assert accepted is not None  # handovers are never deleted
    return await _out(ctx, user, accepted)
