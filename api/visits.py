"""Visits: a household's visit windows (the site file's and those entered at the console), the
resident's announced openings, and the check-in visit due every few days (每3天上门核实).

A visit entered here authorizes the door for its window (escorted sampling, a delivery, a
check-in): an opening inside it is recorded as ``change/authorized_visit``, not alerted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.audit import audited
from api.auth import require_role
from api.care_answers import care_desk, cared, iso_time, staff_name
from api.context import ApiContext, Authed, Ctx, errors, local_iso, visible
from gateway.store.care_records import CareWindow
from rules import care
from rules.site import Household, Role

router = APIRouter(prefix="/api/v1", tags=["care"])

VISIT_ROLES = ("watcher", "officer", "doctor", "supervisor", "admin")
"""Who enters a visit at the console."""
PREREPORTS_SHOWN = 50
"""The household page lists at most this many of the latest announced openings."""
CHECKIN = "checkin"
"""The visit reason of the check-in visit due every ``policy.checkin_visit_days``."""


class VisitOut(BaseModel):
    """A time in which the household's door may open for a visit."""

    id: str | None = Field(description="null for a visit of the site file")
    source: Literal["site", "console"]
    reason: str = Field(description="sampling, delivery, checkin, doctor, other (site: any)")
    reason_label: str = Field(description="the reason in Chinese")
    start: str = iso_time()
    end: str = iso_time()
    escort: str | None = Field(description="the escorting staff member's id")
    escort_name: str | None
    by: str | None = Field(description="who entered it at the console")


class PrereportOut(BaseModel):
    """An opening the resident announced on their page (主动报备)."""

    id: str
    reason: str = Field(description="garbage, delivery, medical, other")
    reason_label: str
    start: str = iso_time()
    end: str = iso_time()


class CheckinOut(BaseModel):
    """Where a household's check-in visit stands."""

    household: str
    address: str
    last: str | None = iso_time("the latest check-in visit that has started")
    due: str = iso_time("when the next is due")
    overdue: bool


class EscortOut(BaseModel):
    """A staff member who may escort a visit to this household."""

    id: str
    name: str
    role: str


class ReceiptOut(BaseModel):
    """The notice (告知书) handed over and signed for."""

    at: str = iso_time()
    by: str


class VisitsOut(BaseModel):
    """A household's visits, announced openings and check-in."""

    household: str
    visits: list[VisitOut] = Field(description="newest start first")
    prereports: list[PrereportOut] = Field(
        description="the latest announced openings, newest first"
    )
    prereport_count: int = Field(description="every opening the resident announced")
    checkin: CheckinOut | None = Field(description="null when not under isolation now")
    escorts: list[EscortOut]
    notice_receipts: list[ReceiptOut]


class VisitIn(BaseModel):
    """Body of POST /api/v1/households/{id}/visits (times without offset: the site's zone)."""

    start: datetime
    end: datetime
    reason: str = Field(min_length=1, max_length=32, description="sampling, delivery, checkin, …")
    escort: str | None = Field(None, max_length=64, description="a staff id; sampling needs one")


def _window_out(ctx: ApiContext, w: CareWindow) -> VisitOut:
    return VisitOut(
        id=w.id,
        source="console",
        reason=w.reason,
        reason_label=care.VISIT_REASONS.get(w.reason, w.reason),
        start=local_iso(ctx, w.start, "seconds"),
        end=local_iso(ctx, w.end, "seconds"),
        escort=w.escort,
        escort_name=staff_name(ctx, w.escort),
        by=w.by,
    )


def last_checkin(hh: Household, windows: Iterable[CareWindow], now: datetime) -> datetime | None:
    """The start of the latest check-in visit of the household that has started by ``now``."""
    starts = [
        w.start
        for w in windows
        if w.household_id == hh.id and w.kind == "visit" and w.reason == CHECKIN and w.start <= now
    ]
    starts += [v.start for v in hh.visits if v.reason == CHECKIN and v.start <= now]
    return max(starts, default=None)


def checkin_of(
    ctx: ApiContext, hh: Household, windows: Iterable[CareWindow], now: datetime
) -> CheckinOut | None:
    """The household's check-in: last, next due, overdue; None when not under isolation (or
    released)."""
    if care.released(hh, care_desk(ctx).pipeline.watch.care.get(hh.id)):
        return None
    last = last_checkin(hh, windows, now)
    due = care.checkin_due(hh, last, ctx.desk.directory.policy.checkin_visit_days, now)
    if due is None:
        return None
    return CheckinOut(
        household=hh.id,
        address=hh.address,
        last=local_iso(ctx, last, "seconds") if last else None,
        due=local_iso(ctx, due, "seconds"),
        overdue=now > due,
    )


def escorts_for(ctx: ApiContext, hh: Household) -> list[EscortOut]:
    """Who may escort a visit: the household's own staff, its watchers, the supervisors."""
    d = ctx.desk.directory
    ids = [hh.officer, hh.doctor, hh.technician, hh.supervisor]
    ids += [s.watcher for s in d.shifts if s.covers_household(hh.id)]
    ids += [s.id for s in d.staff.values() if s.role is Role.SUPERVISOR]
    out = []
    for sid in dict.fromkeys(i for i in ids if i):
        person = d.staff.get(sid)
        if person is not None:
            out.append(EscortOut(id=sid, name=person.name, role=person.role.value))
    return out


@router.get("/households/{household_id}/visits", responses=errors(401, 403, 404, 503))
async def visits(ctx: Ctx, household_id: str, user: Authed) -> VisitsOut:
    """A household's visits (the site file's and the console's), its announced openings, the
    check-in visit due, who may escort, and the notice's receipts."""
    visible(ctx, user, household_id)
    care_desk(ctx)  # a gateway without the paperwork answers 503
    hh = ctx.desk.directory.households[household_id]
    now = ctx.now()
    windows = await ctx.store.household_windows(household_id)
    receipts = await ctx.store.notice_receipts(household_id)
    await audited(ctx, user, "read_visits", target=household_id, household=household_id)
    shown = [_window_out(ctx, w) for w in windows if w.kind == "visit"]
    shown += [
        VisitOut(
            id=None,
            source="site",
            reason=v.reason,
            reason_label=care.VISIT_REASONS.get(v.reason, v.reason),
            start=local_iso(ctx, v.start, "seconds"),
            end=local_iso(ctx, v.end, "seconds"),
            escort=v.escort,
            escort_name=staff_name(ctx, v.escort),
            by=None,
        )
        for v in hh.visits
    ]
    shown.sort(key=lambda v: datetime.fromisoformat(v.start), reverse=True)
    announced = [w for w in windows if w.kind == "prereport"]
    return VisitsOut(
        household=household_id,
        visits=shown,
        prereports=[
            PrereportOut(
                id=w.id,
                reason=w.reason,
                reason_label=care.PREREPORT_REASONS.get(w.reason, w.reason),
                start=local_iso(ctx, w.start, "seconds"),
                end=local_iso(ctx, w.end, "seconds"),
            )
            for w in reversed(announced[-PREREPORTS_SHOWN:])
        ],
        prereport_count=len(announced),
        checkin=checkin_of(ctx, hh, windows, now),
        escorts=escorts_for(ctx, hh),
        notice_receipts=[ReceiptOut(at=local_iso(ctx, r.at, "seconds"), by=r.by) for r in receipts],
    )


@router.post("/households/{household_id}/visits", responses=errors(401, 403, 404, 503))
async def add_visit(ctx: Ctx, household_id: str, user: Authed, body: VisitIn) -> VisitOut:
    """Enter a visit window: the door may open in it (422: an unknown reason or escort,
    sampling without an escort, an end not after the start or more than 4 hours after it)."""
    visible(ctx, user, household_id)
    require_role(user, VISIT_ROLES, "entering a visit")
    tz = ctx.desk.directory.tz
    start = body.start if body.start.tzinfo else body.start.replace(tzinfo=tz)
    end = body.end if body.end.tzinfo else body.end.replace(tzinfo=tz)
    window = await cared(
        care_desk(ctx).add_visit(
            household_id,
            start,
            end,
            body.reason,
            body.escort or None,
            user.name,
            user.role,
            user.via,
        )
    )
    return _window_out(ctx, window)


@router.get("/visits/due", responses=errors(401, 503))
async def checkins_due(ctx: Ctx, user: Authed) -> list[CheckinOut]:
    """Each household in the caller's scope under isolation, with its last check-in visit and
    when the next is due; overdue ones first, then by when they are due."""
    care_desk(ctx)
    d = ctx.desk.directory
    scope = user.households(d)
    now = ctx.now()
    shown = [
        hh
        for hh in d.households.values()
        if (scope is None or hh.id in scope) and hh.isolation and hh.isolation.contains(now)
    ]
    if not shown:
        return []
    since = min(hh.isolation.start for hh in shown if hh.isolation)
    windows = await ctx.store.care_windows(ending_after=since, households=[h.id for h in shown])
    await audited(ctx, user, "read_visits_due")
    out = [c for hh in shown if (c := checkin_of(ctx, hh, windows, now)) is not None]
    out.sort(key=lambda c: (not c.overdue, datetime.fromisoformat(c.due)))
    return out
