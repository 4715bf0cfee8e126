"""Release (解除隔离): the sign-offs of a household whose period ended — the doctor (after
reviewing the temperature log), the officer, the cadre (supervisor), then the control staff (the
watcher), whose sign-off removes the seal and releases it — and the households due or released.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.audit import audited
from api.auth import User
from api.care_answers import REFUSED, care_desk, cared, iso_time, staff_name
from api.context import ApiContext, Authed, Ctx, errors, local_iso, visible
from gateway.store.care_records import Release, Signoff
from rules import care
from rules.alerts import AlertStatus
from rules.site import Household, Role

router = APIRouter(prefix="/api/v1", tags=["release"])

RELEASED_SHOWN = 200
"""The release list shows at most this many released households, newest first."""


def report_link(household_id: str) -> str:
    """Where a released household's release report (解除报告单) is read."""
    return f"/api/v1/households/{household_id}/release-report"


class SignoffOut(BaseModel):
    """A sign-off given towards release."""

    role: str = Field(description="doctor, officer, supervisor, watcher")
    by: str
    by_name: str | None
    at: str = iso_time()
    note: str | None


class SignerOut(BaseModel):
    """One step of the sign-off sequence: who signs it, and the sign-off once given."""

    role: str
    staff: list[str] = Field(description="the staff ids who may give it")
    names: list[str]
    signed: SignoffOut | None


class BlockerOut(BaseModel):
    """An alert that keeps the doctor from signing until resolved with a note."""

    alert: str
    type: str
    status: str
    raised_at: str = iso_time()
    why: Literal["unresolved", "no_note"] = Field(
        description="unresolved: resolve it with a note; no_note: a fever resolved without one"
    )
    reason: str


class SignoffsOut(BaseModel):
    """Where a household's release stands."""

    household: str
    address: str
    period_start: str | None = iso_time()
    period_end: str | None = iso_time()
    release_due: bool = Field(description="the period ended and the household is not released")
    released: bool
    released_at: str | None = iso_time()
    sequence: list[SignerOut] = Field(description="doctor, officer, supervisor, watcher")
    next: str | None = Field(description="the role whose sign-off is due next; null: none")
    may_sign: bool = Field(description="whether the caller may give the next sign-off now")
    blocked: list[BlockerOut] = Field(description="what keeps the doctor from signing")
    report: str | None = Field(description="the release report, once released")


class SignoffIn(BaseModel):
    """Body of POST /api/v1/households/{id}/signoffs."""

    role: str = Field(min_length=1, max_length=32, description="doctor, officer, supervisor, …")
    note: str | None = Field(None, max_length=2000)


class SignedOut(BaseModel):
    """A sign-off given, and whether it released the household."""

    signoff: SignoffOut
    released: bool
    report: str | None = Field(description="the release report, when this released it")


class DueOut(BaseModel):
    """A household whose period ended and that is not released yet."""

    household: str
    address: str
    period_end: str = iso_time()
    next: str | None
    signed: list[str] = Field(description="the roles that have signed")
    open_alerts: int = Field(description="unresolved alerts: they block the doctor")


class ReleasedOut(BaseModel):
    """A released household."""

    household: str
    address: str
    period_start: str = iso_time()
    period_end: str = iso_time()
    released_at: str = iso_time()
    seal_removed_by: str
    seal_removed_by_name: str | None
    report: str = Field(description="the release report (HTML; .pdf too)")
    archived: bool = Field(description="the report is archived with its SHA-256")


class ReleaseListOut(BaseModel):
    """Households due for release, and those released."""

    due: list[DueOut]
    released: list[ReleasedOut]


def signers(ctx: ApiContext, hh: Household, role: Role) -> list[str]:
    """The staff ids who may give a role's sign-off for the household."""
    d = ctx.desk.directory
    if role is Role.WATCHER:
        return list(dict.fromkeys(s.watcher for s in d.shifts if s.covers_household(hh.id)))
    if role is Role.SUPERVISOR:
        return d.supervisors(hh)
    who = hh.staff_for(role)
    return [who] if who else []


def _signoff_out(ctx: ApiContext, s: Signoff) -> SignoffOut:
    return SignoffOut(
        role=s.role,
        by=s.by,
        by_name=staff_name(ctx, s.by),
        at=local_iso(ctx, s.at, "seconds"),
        note=s.note,
    )


def _released_out(ctx: ApiContext, r: Release) -> ReleasedOut:
    hh = ctx.desk.directory.households.get(r.household_id)
    return ReleasedOut(
        household=r.household_id,
        address=hh.address if hh else r.household_id,
        period_start=local_iso(ctx, r.period_start, "seconds"),
        period_end=local_iso(ctx, r.period_end, "seconds"),
        released_at=local_iso(ctx, r.released_at, "seconds"),
        seal_removed_by=r.seal_removed_by,
        seal_removed_by_name=staff_name(ctx, r.seal_removed_by),
        report=report_link(r.household_id),
        archived=r.report_sha256 is not None,
    )


async def standing(ctx: ApiContext, hh: Household, user: User, now: datetime) -> SignoffsOut:
    """Where the household's release stands, as ``user`` sees it."""
    desk = care_desk(ctx)
    iso = hh.isolation
    state = desk.pipeline.watch.care.get(hh.id)
    signed = await ctx.store.signoffs(hh.id, iso.start) if iso else []
    by_role = {s.role: s for s in signed}
    nxt = care.next_signoff(by_role.keys()) if iso else None
    due = care.release_due(hh, state, now)
    released = care.released(hh, state)
    blocked = []
    if iso is not None and Role.DOCTOR.value not in by_role:
        blocked = [
            BlockerOut(
                alert=a.id,
                type=a.type.value,
                status=a.status.value,
                raised_at=local_iso(ctx, a.raised_at, "seconds"),
                why="no_note" if a.status is AlertStatus.RESOLVED else "unresolved",
                reason=why,
            )
            for a, why in await desk.doctor_blockers(hh.id, iso.start)
        ]
    may = (
        due
        and nxt is not None
        and desk.may_sign(hh, nxt, user.name, user.role)
        and not (nxt is Role.DOCTOR and blocked)
    )
    sequence = []
    for role in care.SIGNOFF_ORDER:
        ids = signers(ctx, hh, role)
        done = by_role.get(role.value)
        sequence.append(
            SignerOut(
                role=role.value,
                staff=ids,
                names=[staff_name(ctx, i) or i for i in ids],
                signed=_signoff_out(ctx, done) if done else None,
            )
        )
    release_at = state.released[1] if released and state and state.released else None
    return SignoffsOut(
        household=hh.id,
        address=hh.address,
        period_start=local_iso(ctx, iso.start, "seconds") if iso else None,
        period_end=local_iso(ctx, iso.end, "seconds") if iso else None,
        release_due=due,
        released=released,
        released_at=local_iso(ctx, release_at, "seconds") if release_at else None,
        sequence=sequence,
        next=nxt.value if nxt else None,
        may_sign=bool(may),
        blocked=blocked,
        report=report_link(hh.id) if released else None,
    )


@router.get("/households/{household_id}/signoffs", responses=errors(401, 403, 404, 503))
async def signoffs(ctx: Ctx, household_id: str, user: Authed) -> SignoffsOut:
    """The sign-offs of the household's isolation period, the role due next, whether the caller
    may give it, and (before the doctor has signed) the alerts that block the doctor."""
    visible(ctx, user, household_id)
    hh = ctx.desk.directory.households[household_id]
    out = await standing(ctx, hh, user, ctx.now())
    await audited(ctx, user, "read_signoffs", target=household_id, household=household_id)
    return out


@router.post("/households/{household_id}/signoffs", responses=errors(401, 403, 404, 503) | REFUSED)
async def sign(ctx: Ctx, household_id: str, user: Authed, body: SignoffIn) -> SignedOut:
    """Sign off towards release as the household's staff member of ``role`` (403: not that
    person; 409: not due, out of turn, or the doctor blocked by an alert not resolved or a fever
    resolved without a note; 422: not a signing role). The watcher's sign-off, the last,
    removes the seal and releases the household: its devices stop alerting."""
    visible(ctx, user, household_id)
    desk = care_desk(ctx)
    so, rel = await cared(
        desk.signoff(household_id, body.role, user.name, user.role, body.note, user.via)
    )
    return SignedOut(
        signoff=_signoff_out(ctx, so),
        released=rel is not None,
        report=report_link(household_id) if rel is not None else None,
    )


@router.get("/release/due", responses=errors(401, 503))
async def release_list(ctx: Ctx, user: Authed) -> ReleaseListOut:
    """The households in the caller's scope whose period ended and that are not released (the
    earliest ended first), and those released (the latest first), with their reports."""
    desk = care_desk(ctx)
    d = ctx.desk.directory
    scope = user.households(d)
    now = ctx.now()
    watch = desk.pipeline.watch
    due_hh = [
        hh
        for hh in d.households.values()
        if (scope is None or hh.id in scope) and care.release_due(hh, watch.care.get(hh.id), now)
    ]
    open_by: dict[str, int] = {}
    if due_hh:
        for a in await ctx.store.list_alerts(
            status="unresolved", households=[h.id for h in due_hh], limit=100_000
        ):
            open_by[a.household_id] = open_by.get(a.household_id, 0) + 1
    due = []
    for hh in sorted(due_hh, key=lambda h: h.isolation.end if h.isolation else now):
        assert hh.isolation is not None  # release_due says so
        roles = [s.role for s in await ctx.store.signoffs(hh.id, hh.isolation.start)]
        nxt = care.next_signoff(roles)
        due.append(
            DueOut(
                household=hh.id,
                address=hh.address,
                period_end=local_iso(ctx, hh.isolation.end, "seconds"),
                next=nxt.value if nxt else None,
                signed=roles,
                open_alerts=open_by.get(hh.id, 0),
            )
        )
    released = await ctx.store.releases(households=scope)
    await audited(ctx, user, "read_release_due")
    return ReleaseListOut(
        due=due, released=[_released_out(ctx, r) for r in released[:RELEASED_SHOWN]]
    )
