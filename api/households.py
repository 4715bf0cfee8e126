"""Households, their devices, events and readings; what the intake refused (SPEC §6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.audit import audited
from api.auth import INTAKE_ROLES, require_role
from api.context import ApiContext, Authed, Ctx, alert_out, errors, visible
from api.grid import grid_row
from api.masking import mask_phone, sees_phones
from api.models import (
    DeviceOut,
    EventOut,
    HouseholdOut,
    HouseholdRow,
    ReadingOut,
    RejectedOut,
    UnknownOut,
)
from devices.events import DeviceRef, EventKind, Protocol
from gateway.store.event_data import TemperatureData
from gateway.store.records import Alert

router = APIRouter(prefix="/api/v1")

Limit = Annotated[int, Query(ge=1, le=1000)]


@router.get("/rejected", tags=["intake"], responses=errors(401, 403))
async def rejected(ctx: Ctx, user: Authed, limit: Limit = 200) -> list[RejectedOut]:
    """Input the gateway could not use, newest first, with the reason (technicians,
    supervisors, admins)."""
    require_role(user, INTAKE_ROLES, "the rejected messages")
    return [
        RejectedOut(
            received_at=r.received_at.isoformat(),
            source=r.source,
            topic=r.topic,
            device=r.device_key,
            reason=r.reason,
            payload=r.payload,
        )
        for r in await ctx.store.list_rejected(limit)
    ]


@router.get("/devices/unknown", tags=["intake"], responses=errors(401, 403))
async def unknown(ctx: Ctx, user: Authed, limit: Limit = 200) -> list[UnknownOut]:
    """Device addresses heard that no household binds, most recently heard first (one bound
    since it was heard is left out; technicians, supervisors, admins)."""
    require_role(user, INTAKE_ROLES, "the unknown devices")
    return [
        UnknownOut(
            **r
            | {"first_seen": r["first_seen"].isoformat(), "last_seen": r["last_seen"].isoformat()}
        )
        for r in await ctx.store.list_unknown(limit)
        if not _bound_now(ctx, r["protocol"], r["address"])
    ]


def _bound_now(ctx: ApiContext, protocol: str, address: str) -> bool:
    """Whether the site binds an address now (an unknown device may have been bound since)."""
    try:
        ref = DeviceRef(Protocol(protocol), address)
    except ValueError:
        return False
    return ctx.desk.directory.bound(ref) is not None


@router.get("/households", tags=["households"], responses=errors(401))
async def households(ctx: Ctx, user: Authed) -> list[HouseholdRow]:
    """The households in the caller's scope, each with what the grid shows of it now."""
    d = ctx.desk.directory
    scope = user.households(d)
    shown = [h for h in d.households.values() if scope is None or h.id in scope]
    # Three queries for the whole grid, whatever the number of households.
    states = {s.device_id: s for s in await ctx.store.device_statuses()}
    snapshots = {h: ctx.desk.link(s) for h, s in (await ctx.store.latest_snapshots(scope)).items()}
    unresolved: dict[str, list[Alert]] = {}
    for a in await ctx.store.list_alerts(status="unresolved", households=scope, limit=100_000):
        unresolved.setdefault(a.household_id, []).append(a)
    return [grid_row(hh, states, snapshots.get(hh.id), unresolved.get(hh.id, [])) for hh in shown]


@router.get("/households/{household_id}", tags=["households"], responses=errors(401, 403, 404))
async def household(ctx: Ctx, household_id: str, user: Authed) -> HouseholdOut:
    """A household: its set-up, its devices' last state and its unresolved alerts (acknowledged
    ones too)."""
    visible(ctx, user, household_id)
    hh = ctx.desk.directory.households[household_id]
    states = {s.device_id: s for s in await ctx.store.device_statuses()}
    devices = []
    for dev in hh.devices:
        s = states.get(dev.id)
        devices.append(
            DeviceOut(
                id=dev.id,
                kind=dev.kind.value,
                protocol=dev.protocol.value,
                address=dev.address,
                last_seen=s.last_seen.isoformat() if s and s.last_seen else None,
                online=s.online if s else None,
                battery=s.battery if s else None,
                door_open=s.door_open if s else None,
                last_celsius=s.last_celsius if s else None,
            )
        )
    residents = hh.residents
    if not sees_phones(user, hh.id, ctx.desk.directory):
        residents = [
            r.model_copy(update={"phone": r.phone and mask_phone(r.phone)}) for r in residents
        ]
    alerts = await ctx.store.list_alerts(status="unresolved", households={hh.id}, limit=1000)
    await audited(ctx, user, "read_household", target=hh.id, household=hh.id)
    return HouseholdOut(
        **hh.model_dump(exclude={"devices", "residents"}),
        residents=residents,
        devices=devices,
        alerts=[alert_out(ctx, a) for a in alerts],
    )


@router.get(
    "/households/{household_id}/events", tags=["households"], responses=errors(401, 403, 404)
)
async def events(
    ctx: Ctx,
    household_id: str,
    user: Authed,
    kind: EventKind | None = None,
    limit: Limit = 200,
) -> list[EventOut]:
    """A household's event log, newest first."""
    visible(ctx, user, household_id)
    await audited(ctx, user, "read_events", target=household_id, household=household_id)
    return [
        EventOut(
            ts=e.ts.isoformat(),
            received_at=e.received_at.isoformat(),
            device=e.device_id,
            kind=e.kind,
            report=e.report,
            data=e.data.to_json(),
        )
        for e in await ctx.store.household_events(
            household_id, kind=kind.value if kind else None, limit=limit
        )
    ]


@router.get(
    "/households/{household_id}/readings", tags=["households"], responses=errors(401, 403, 404)
)
async def readings(
    ctx: Ctx, household_id: str, user: Authed, limit: Limit = 200
) -> list[ReadingOut]:
    """A household's body temperature readings, newest first, with whose they are."""
    visible(ctx, user, household_id)
    await audited(ctx, user, "read_readings", target=household_id, household=household_id)
    rows = await ctx.store.household_events(household_id, kind="temperature", limit=limit)
    hh = ctx.desk.directory.households[household_id]
    resident_of = {d.id: d.resident for d in hh.devices}
    return [
        ReadingOut(
            ts=e.ts.isoformat(),
            device=e.device_id,
            resident=resident_of.get(e.device_id or ""),
            celsius=e.data.celsius if isinstance(e.data, TemperatureData) else None,
        )
        for e in rows
    ]
