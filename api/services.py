"""Daily services (代购生活用品、清运生活垃圾): what residents asked for on their page, as tasks for
the watcher of the household's shift, marked done with who and when."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from api.audit import audited
from api.auth import require_role
from api.care_answers import REFUSED, care_desk, cared, iso_time, staff_name
from api.context import ApiContext, Authed, Ctx, errors, local_iso, visible
from gateway.store.care_records import ServiceRequest
from rules import care

router = APIRouter(prefix="/api/v1", tags=["care"])

DONE_ROLES = ("watcher", "supervisor", "admin")
"""Who marks a service request done."""


class ServiceOut(BaseModel):
    """A resident's service request and, once done, who did it and when."""

    id: str
    household: str
    address: str
    kind: str = Field(description="supplies or garbage")
    kind_label: str = Field(description="the kind in Chinese")
    note: str | None
    requested_at: str = iso_time()
    via: str = Field(description="page: the resident's page")
    done_by: str | None
    done_by_name: str | None
    done_at: str | None = iso_time()
    watchers: list[str] = Field(description="the watchers on duty for the household now")


def service_out(ctx: ApiContext, r: ServiceRequest) -> ServiceOut:
    """A service request as the API gives it."""
    d = ctx.desk.directory
    hh = d.households.get(r.household_id)
    return ServiceOut(
        id=r.id,
        household=r.household_id,
        address=hh.address if hh else r.household_id,
        kind=r.kind,
        kind_label=care.SERVICE_KINDS.get(r.kind, r.kind),
        note=r.note,
        requested_at=local_iso(ctx, r.requested_at, "seconds"),
        via=r.via,
        done_by=r.done_by,
        done_by_name=staff_name(ctx, r.done_by),
        done_at=local_iso(ctx, r.done_at, "seconds") if r.done_at else None,
        watchers=d.on_duty(r.household_id, ctx.now()),
    )


@router.get("/services", responses=errors(401, 503))
async def services(
    ctx: Ctx,
    user: Authed,
    open_: Annotated[bool, Query(alias="open", description="only those not done yet")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ServiceOut]:
    """The service requests of the households in the caller's scope, newest first."""
    care_desk(ctx)
    d = ctx.desk.directory
    scope = user.households(d)
    found = await ctx.store.service_requests(households=scope, open_only=open_, limit=limit)
    await audited(ctx, user, "read_services", detail="open" if open_ else None)
    return [service_out(ctx, r) for r in found if r.household_id in d.households]


@router.post("/services/{request_id}/done", responses=errors(401, 403, 404, 503) | REFUSED)
async def service_done(ctx: Ctx, request_id: str, user: Authed) -> ServiceOut:
    """Mark a service request done, as the caller, now (watchers, supervisors, admins; 409
    when it is done already)."""
    desk = care_desk(ctx)
    found = await ctx.store.service_request(request_id)
    if found is None:
        raise HTTPException(404, f"no service request {request_id}")
    visible(ctx, user, found.household_id)
    require_role(user, DONE_ROLES, "marking a service done")
    done = await cared(desk.complete_service(request_id, user.name, user.role, user.via))
    return service_out(ctx, done)
