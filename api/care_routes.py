"""Staff's side of the resident's page: its link (a capability: whoever holds it announces
openings for the household), the link's rotation, and a symptom check entered for a resident
who has no phone.

- ``GET /api/v1/households/{id}/link``: the page's absolute URL and its generation (watcher,
  officer, supervisor, admin); made on first use; every read audited (``read_link``).
- ``POST /api/v1/households/{id}/link/rotate``: a new secret, the old one answers 404 from now on
  (watcher, supervisor, admin; audited by the care desk as ``link_rotated``).
- ``POST /api/v1/households/{id}/symptoms`` ``{"resident": "r1", "symptoms": ["fever"]}``: staff
  name residents by id (watcher, doctor, supervisor, admin; audited as ``symptoms``); answers the
  check and the ``symptom`` alert it raised, if any.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from api.audit import audited
from api.auth import User, require_role
from api.care_answers import care_desk, cared
from api.context import ApiContext, Authed, Ctx, alert_out, errors, local_iso, visible
from api.models import AlertOut
from rules import care

router = APIRouter(prefix="/api/v1", tags=["care"])

LINK_READERS = ("watcher", "officer", "supervisor", "admin")
"""Who may read a household's page link (to hand it over, print it, read it out)."""
LINK_ROTATORS = ("watcher", "supervisor", "admin")
"""Who may rotate it (a notice lost, a link passed around)."""
SYMPTOM_ENTRY = ("watcher", "doctor", "supervisor", "admin")
"""Who may enter a symptom check for a resident."""


class LinkOut(BaseModel):
    """The resident's page of a household: a capability, to be handed to the household only."""

    url: str = Field(description="absolute URL of the page (/r/<secret>)")
    generation: int = Field(description="how many times the link was made or rotated")


class SymptomsIn(BaseModel):
    """A symptom check staff enter for a resident (``[]``: none)."""

    model_config = ConfigDict(extra="forbid")

    resident: str = Field(min_length=1, max_length=64, description="the resident's id")
    symptoms: list[str] = Field(max_length=len(care.SYMPTOMS), description="keys; [] for none")


class SymptomCheckOut(BaseModel):
    """A resident's symptom check as recorded."""

    household: str
    resident: str
    at: str = Field(json_schema_extra={"format": "date-time"})
    symptoms: list[str]
    by: str
    via: str
    window_start: str | None = Field(
        json_schema_extra={"format": "date-time"}, description="the reading window it counts for"
    )


class SymptomsOut(BaseModel):
    """The check, and the ``symptom`` alert it raised (None for no symptom)."""

    check: SymptomCheckOut
    alert: AlertOut | None


async def _link_out(ctx: ApiContext, request: Request, household_id: str, secret: str) -> LinkOut:
    base = (ctx.public_url or str(request.base_url)).rstrip("/")
    generations = await ctx.store.link_generations()
    generation = generations.get(household_id, (0, ""))[0]
    return LinkOut(url=f"{base}/r/{secret}", generation=generation)


def _scoped(
    ctx: ApiContext, user: User, household_id: str, roles: tuple[str, ...], what: str
) -> None:
    visible(ctx, user, household_id)
    require_role(user, roles, what)


@router.get("/households/{household_id}/link", responses=errors(401, 403, 404, 503))
async def link(ctx: Ctx, household_id: str, user: Authed, request: Request) -> LinkOut:
    """The household's pre-report page link (made on first use); the read is audited."""
    _scoped(ctx, user, household_id, LINK_READERS, "the resident's page link")
    secret = await cared(care_desk(ctx).link_secret(household_id, user.name, user.role, user.via))
    await audited(ctx, user, "read_link", target=household_id, household=household_id)
    return await _link_out(ctx, request, household_id, secret)


@router.post("/households/{household_id}/link/rotate", responses=errors(401, 403, 404, 503))
async def rotate(ctx: Ctx, household_id: str, user: Authed, request: Request) -> LinkOut:
    """A new link for the household's page: the old one answers 404 from now on."""
    _scoped(ctx, user, household_id, LINK_ROTATORS, "rotating the resident's page link")
    secret = await cared(care_desk(ctx).rotate_link(household_id, user.name, user.role, user.via))
    return await _link_out(ctx, request, household_id, secret)


@router.post("/households/{household_id}/symptoms", responses=errors(401, 403, 404, 409, 503))
async def enter_symptoms(
    ctx: Ctx, household_id: str, body: SymptomsIn, user: Authed
) -> SymptomsOut:
    """A resident's symptom check, entered by staff (a resident without a phone); any symptom
    raises ``symptom`` to the doctor and the watcher."""
    _scoped(ctx, user, household_id, SYMPTOM_ENTRY, "entering a symptom check")
    check, alert = await cared(
        care_desk(ctx).symptoms(
            household_id, body.resident, body.symptoms, user.name, user.role, user.via
        )
    )
    return SymptomsOut(
        check=SymptomCheckOut(
            household=check.household_id,
            resident=check.resident_id,
            at=local_iso(ctx, check.at),
            symptoms=list(check.symptoms or ()),
            by=check.by,
            via=check.via,
            window_start=local_iso(ctx, check.window_start) if check.window_start else None,
        ),
        alert=alert_out(ctx, alert) if alert is not None else None,
    )
