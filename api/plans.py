"""Response plans per alert type, and ticking a plan's step on an alert."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field, RootModel

from api.context import Authed, Ctx, acted, alert_for, errors
from api.models import AlertOut
from gateway.alerting.operations import ANSWER_WITHIN_S
from rules.plans import PLANS

router = APIRouter(prefix="/api/v1", tags=["alerts"])


class PlanStepOut(BaseModel):
    """One step of a response plan, as the console shows it."""

    step: str = Field(description="the key POST /api/v1/alerts/{id}/steps takes")
    zh: str
    en: str


class PlansOut(RootModel[dict[str, list[PlanStepOut]]]):
    """Per alert type, its response plan."""


class StepIn(BaseModel):
    """Body of POST /api/v1/alerts/{id}/steps."""

    step: str = Field(min_length=1, max_length=64, description="a step of the alert type's plan")


@router.get("/plans", responses=errors(401))
async def plans(user: Authed) -> PlansOut:
    """Per alert type, its short response plan, in the order the steps are taken."""
    return PlansOut(
        {
            t.value: [PlanStepOut(step=s.step, zh=s.zh, en=s.en) for s in steps]
            for t, steps in PLANS.items()
        }
    )


@router.post("/alerts/{alert_id}/steps", responses=errors(401, 403, 404, 409, 503))
async def step(ctx: Ctx, alert_id: str, user: Authed, body: StepIn) -> AlertOut:
    """Record that the caller took a step of the plan (422: not a step of this alert's plan)."""
    await alert_for(ctx, user, alert_id)
    return await acted(
        ctx,
        ctx.ops.step(alert_id, body.step, user.name, ANSWER_WITHIN_S, via=user.via, role=user.role),
    )
