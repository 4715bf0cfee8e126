"""A household's temperature log (体温监测表) of its isolation period, as the doctor reviews it
before signing towards release: each day's reading windows, per resident, the readings and the
symptom check, or missed (built by :mod:`rules.slots`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from api.audit import audited
from api.care_answers import iso_time
from api.context import ApiContext, Authed, Ctx, errors, local_iso, visible
from gateway.care.slots import log_inputs
from rules import care
from rules.slots import LogDay, LoggedCheck, LoggedReading, Slot, temperature_log

router = APIRouter(prefix="/api/v1", tags=["release"])


class LogReadingOut(BaseModel):
    """A reading of the log."""

    resident: str | None
    at: str = iso_time()
    celsius: float
    fever: bool = Field(description="at or above the policy's fever_celsius")


class LogCheckOut(BaseModel):
    """A symptom check of the log."""

    resident: str
    at: str = iso_time()
    symptoms: list[str] = Field(description="empty: none")
    labels: list[str] = Field(description="the symptoms in Chinese")
    by: str = Field(description="resident (their page) or the staff member who entered it")


class LogSlotOut(BaseModel):
    """One resident's reading window on one day."""

    window: str = Field(description="the policy's window, e.g. 06:00-10:00")
    resident: str
    start: str = iso_time()
    end: str = iso_time()
    reading: Literal["taken", "missed", "pending"]
    check: Literal["given", "missed", "pending"]
    readings: list[LogReadingOut]
    checks: list[LogCheckOut]


class LogDayOut(BaseModel):
    """One local day of the period."""

    date: str = Field(json_schema_extra={"format": "date"})
    slots: list[LogSlotOut] = Field(description="window order, then resident order")
    other_readings: list[LogReadingOut] = Field(description="taken outside every window")
    other_checks: list[LogCheckOut] = Field(description="given outside every window")


class LogResidentOut(BaseModel):
    """A resident of the log."""

    id: str
    name: str
    flags: list[str]


class TemperatureLogOut(BaseModel):
    """A household's temperature log of its isolation period."""

    household: str
    address: str
    period_start: str | None = iso_time()
    period_end: str | None = iso_time()
    fever_celsius: float
    windows: list[str] = Field(description="the policy's reading windows, in order")
    residents: list[LogResidentOut]
    days: list[LogDayOut] = Field(description="oldest first; empty without a period")
    missed_readings: int
    missed_checks: int
    fevers: int = Field(description="readings at or above fever_celsius")


def _reading(ctx: ApiContext, r: LoggedReading, fever: float) -> LogReadingOut:
    return LogReadingOut(
        resident=r.resident,
        at=local_iso(ctx, r.at, "seconds"),
        celsius=r.celsius,
        fever=r.celsius >= fever,
    )


def _check(ctx: ApiContext, c: LoggedCheck) -> LogCheckOut:
    said = list(c.symptoms or ())
    return LogCheckOut(
        resident=c.resident,
        at=local_iso(ctx, c.at, "seconds"),
        symptoms=said,
        labels=[care.SYMPTOMS.get(s, s) for s in said],
        by=c.by,
    )


def _slot(ctx: ApiContext, s: Slot, fever: float) -> LogSlotOut:
    return LogSlotOut(
        window=s.window.span,
        resident=s.resident,
        start=local_iso(ctx, s.window.start, "seconds"),
        end=local_iso(ctx, s.window.end, "seconds"),
        reading="pending" if s.pending else "missed" if s.missed else "taken",
        check="pending" if s.pending else "missed" if s.check_missed else "given",
        readings=[_reading(ctx, r, fever) for r in s.readings],
        checks=[_check(ctx, c) for c in s.checks],
    )


def _day(ctx: ApiContext, d: LogDay, fever: float) -> LogDayOut:
    return LogDayOut(
        date=d.day.isoformat(),
        slots=[_slot(ctx, s, fever) for s in d.slots],
        other_readings=[_reading(ctx, r, fever) for r in d.other_readings],
        other_checks=[_check(ctx, c) for c in d.other_checks],
    )


@router.get("/households/{household_id}/temperature-log", responses=errors(401, 403, 404))
async def temperature_log_of(ctx: Ctx, household_id: str, user: Authed) -> TemperatureLogOut:
    """The household's temperature log of its isolation period: every reading and every
    symptom check by day and reading window, the missed ones marked."""
    visible(ctx, user, household_id)
    d = ctx.desk.directory
    hh = d.households[household_id]
    policy = d.policy
    iso = hh.isolation
    days: list[LogDay] = []
    if iso is not None:
        readings, checks = await log_inputs(ctx.store, hh, iso.start)
        days = temperature_log(hh, policy.reading_windows, d.tz, readings, checks, ctx.now())
    await audited(ctx, user, "read_temperature_log", target=household_id, household=household_id)
    fever = policy.fever_celsius
    out_days = [_day(ctx, x, fever) for x in days]
    slots = [s for x in days for s in x.slots]
    every = [r for x in days for s in x.slots for r in s.readings]
    every += [r for x in days for r in x.other_readings]
    return TemperatureLogOut(
        household=hh.id,
        address=hh.address,
        period_start=local_iso(ctx, iso.start, "seconds") if iso else None,
        period_end=local_iso(ctx, iso.end, "seconds") if iso else None,
        fever_celsius=fever,
        windows=[w.text for w in policy.reading_windows],
        residents=[LogResidentOut(id=r.id, name=r.name, flags=r.flags) for r in hh.residents],
        days=out_days,
        missed_readings=sum(1 for s in slots if s.missed),
        missed_checks=sum(1 for s in slots if s.check_missed),
        fevers=sum(1 for r in every if r.celsius >= fever),
    )
