"""The technician's routes: binding an unknown device to a household's device slot, and the
commissioning checklist of ``isogate commission``, live."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field, ValidationError

from api.audit import audited
from api.auth import INTAKE_ROLES, require_role
from api.context import Authed, Ctx, errors, local_iso, visible
from devices.events import DeviceRef, Protocol
from gateway.commissioning import checklist, tick_off
from gateway.site.errors import SiteFileError
from gateway.site.stored import save_site, stored_site
from rules.site import Device, Site

router = APIRouter(prefix="/api/v1", tags=["technician"])

"""Who may bind a device (a technician only to the households assigned to them)."""

COMMISSION_EVENTS = 5000
"""How many of a household's latest events the checklist looks through."""


class BindIn(BaseModel):
    """An address heard on the air, and the household's device slot it is to fill."""

    protocol: Protocol
    address: str = Field(min_length=1, max_length=128)
    household: str
    device: str = Field(description="the id of one of the household's devices")


class BindOut(BaseModel):
    """The device as now bound; the running gateway takes it up within a second or so."""

    household: str
    device: str
    protocol: Protocol
    address: str
    revision: int = Field(description="the stored site's revision that holds the binding")


class CommissionItem(BaseModel):
    """One thing a device must show."""

    device: str
    kind: str
    check: str = Field(description="door opened, door closed, a reading, a frame, Frigate heard")
    done: bool
    at: str | None = Field(
        description="when it was first seen", json_schema_extra={"format": "date-time"}
    )


class CommissionOut(BaseModel):
    """A household's commissioning checklist."""

    household: str
    items: list[CommissionItem]
    complete: bool


@router.post("/devices/unknown/bind", responses=errors(401, 403, 404, 409))
async def bind(ctx: Ctx, user: Authed, body: BindIn) -> BindOut:
    """Bind a device address to a household's device slot (422: the binding is not valid)."""
    require_role(user, INTAKE_ROLES, "binding devices")
    visible(ctx, user, body.household)
    ref = DeviceRef(body.protocol, body.address)
    taken = ctx.desk.directory.bound(ref)
    if taken is not None and taken.device.id != body.device:
        raise HTTPException(409, f"{ref.key()} is bound to {taken.device.id} already")
    revision, site = await stored_site(ctx.store)
    hh = next((h for h in site.households if h.id == body.household), None) if site else None
    slot = next((d for d in hh.devices if d.id == body.device), None) if hh else None
    if site is None or hh is None or slot is None:
        raise HTTPException(404, f"household {body.household} has no device {body.device}")
    try:
        fresh = Device.model_validate(
            slot.model_dump() | {"protocol": body.protocol, "address": body.address}
        )
        bound = hh.model_copy(
            update={"devices": [fresh if d.id == slot.id else d for d in hh.devices]}
        )
        revision = await save_site(
            ctx.store,
            Site(timezone=site.timezone, households=[bound]),
            "bind",
            ctx.ops.clock.now(),
        )
    except ValidationError as exc:
        raise HTTPException(422, str(exc)) from None
    except SiteFileError as exc:
        raise HTTPException(422, str(exc)) from None
    detail = f"{ref.key()} → {hh.id}/{slot.id}"
    await audited(ctx, user, "bind", target=slot.id, household=hh.id, detail=detail)
    return BindOut(
        household=hh.id,
        device=slot.id,
        protocol=body.protocol,
        address=fresh.wire_address(),
        revision=revision,
    )


@router.get("/households/{household_id}/commission", responses=errors(401, 403, 404))
async def commission(
    ctx: Ctx,
    household_id: str,
    user: Authed,
    since: Annotated[
        datetime | None,
        Query(description="count what was heard from then on (default: the last 24 hours)"),
    ] = None,
) -> CommissionOut:
    """What each of the household's devices has shown since ``since``, as ``isogate commission``
    checks it: a door opens and closes, a thermometer reads, a camera sends a frame."""
    visible(ctx, user, household_id)
    hh = ctx.desk.directory.households[household_id]
    start = since if since is not None and since.tzinfo else ctx.ops.clock.now() - timedelta(days=1)
    checks = checklist(hh)
    events = await ctx.store.household_events(hh.id, since=start, limit=COMMISSION_EVENTS)
    tick_off(checks, events, start)
    items = [
        CommissionItem(
            device=c.device.id,
            kind=c.device.kind.value,
            check=step,
            done=at is not None,
            at=local_iso(ctx, at, "seconds") if at else None,
        )
        for c in checks
        for step, at in c.needs.items()
    ]
    return CommissionOut(household=hh.id, items=items, complete=all(c.done for c in checks))
