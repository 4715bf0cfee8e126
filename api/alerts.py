"""Alerts: list, read, acknowledge, resolve (SPEC §6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.audit import audited
from api.auth import require_role
from api.context import Authed, Ctx, acted, alert_for, alert_out, errors, visible
from api.masking import sees_phones, shown_target
from api.models import AlertDetailOut, AlertOut, DeliveryOut, HistoryOut, StatusFilter
from gateway.alerting.operations import ANSWER_WITHIN_S
from rules.alerts import AlertType

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

# A breach or a tamper is closed by someone who answers for the household's security: its
# officer (the only officer who sees it), a watcher of its shifts, a supervisor, an admin.
CLOSES_CRITICAL = ("officer", "watcher", "supervisor", "admin")
CRITICAL_TYPES = (AlertType.DOOR_BREACH, AlertType.TAMPER)


class Note(BaseModel):
    """Body of ack/resolve."""

    note: str | None = Field(None, max_length=2000)


@router.get("", responses=errors(401, 403, 404))
async def list_alerts(
    ctx: Ctx,
    user: Authed,
    status: Annotated[
        StatusFilter | None, Query(description="open/active: not yet acknowledged")
    ] = None,
    household: str | None = None,
    type: AlertType | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AlertOut]:
    """Alerts in the caller's scope, newest first."""
    scope = user.households(ctx.desk.directory)
    if household is not None:
        visible(ctx, user, household)
        scope = {household}
    alerts = await ctx.store.list_alerts(
        status=status.value if status else None,
        households=scope,
        type=type.value if type else None,
        limit=limit,
    )
    return [alert_out(ctx, a) for a in alerts]


@router.get("/{alert_id}", responses=errors(401, 403, 404))
async def get_alert(ctx: Ctx, alert_id: str, user: Authed) -> AlertDetailOut:
    """One alert with its history and where each notice of it stands."""
    alert = await alert_for(ctx, user, alert_id)
    history = await ctx.store.alert_history(alert_id)
    deliveries = await ctx.store.alert_deliveries(alert_id)
    phones = sees_phones(user, alert.household_id, ctx.desk.directory)
    await audited(ctx, user, "read_alert", target=alert_id, household=alert.household_id)
    return AlertDetailOut(
        **alert_out(ctx, alert).model_dump(),
        history=[
            HistoryOut(at=h.at.isoformat(), action=h.action, by=h.by, note=h.note, via=h.via)
            for h in history
        ],
        deliveries=[
            DeliveryOut(
                **d
                | {
                    "target": shown_target(d["target"], phones=phones),
                    "delivered_at": d["delivered_at"] and d["delivered_at"].isoformat(),
                }
            )
            for d in deliveries
        ],
    )


@router.post("/{alert_id}/ack", responses=errors(401, 403, 404, 409, 503))
async def ack(ctx: Ctx, alert_id: str, user: Authed, body: Note | None = None) -> AlertOut:
    """Acknowledge: escalation stops. 503 when the database does not take it in time."""
    await alert_for(ctx, user, alert_id)
    return await acted(
        ctx,
        ctx.ops.ack(
            alert_id,
            user.name,
            ANSWER_WITHIN_S,
            note=body.note if body else None,
            via=user.via,
            role=user.role,
        ),
    )


@router.post("/{alert_id}/resolve", responses=errors(401, 403, 404, 409, 503))
async def resolve(ctx: Ctx, alert_id: str, user: Authed, body: Note) -> AlertOut:
    """Resolve with a note (a door breach needs one, else 422).

    A door breach or a tamper is resolved by an officer, watcher, supervisor or admin (403 for
    a technician or a doctor)."""
    alert = await alert_for(ctx, user, alert_id)
    if alert.type in CRITICAL_TYPES:
        require_role(user, CLOSES_CRITICAL, f"resolving a {alert.type.value}")
    return await acted(
        ctx,
        ctx.ops.resolve(
            alert_id, user.name, body.note, ANSWER_WITHIN_S, via=user.via, role=user.role
        ),
    )
