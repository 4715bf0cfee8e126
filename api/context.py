"""What the API's routes reach of the running gateway, and the pieces every route shares."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request

from api.auth import User, current_user
from api.models import AlertOut, ErrorOut
from api.resident_throttle import ResidentThrottle
from api.throttle import LoginThrottle
from gateway.alerting.desk import AlertDesk, AlertError
from gateway.alerting.operations import AlertOps, DatabaseBusyError
from gateway.camera.evidence import EvidenceStore
from gateway.care.desk import CareDesk
from gateway.care.documents import Documents
from gateway.health import Health
from gateway.links import LinkSigner
from gateway.store import Store
from gateway.store.records import Alert


@dataclass
class ApiContext:
    """What the API needs from the running gateway."""

    store: Store
    desk: AlertDesk
    ops: AlertOps
    broker_up: Callable[[], bool]
    health: Health
    evidence: EvidenceStore | None = None
    """Alerts' evidence files; None where none is kept (the evidence routes answer 404)."""
    links: LinkSigner | None = None
    """Signs and checks the links in messages; None: no signed link works."""
    care: CareDesk | None = None
    """The isolation's paperwork (the resident's page, symptoms, visits, release)."""
    link_hours: float = 24.0
    """How long a link in a message works."""
    session_hours: float = 12.0
    """How long a console login lasts."""
    public_url: str | None = None
    """The gateway's address as browsers reach it (behind a proxy), for the stream's Origin."""
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    """Failed logins per client address."""
    resident_throttle: ResidentThrottle = field(default_factory=ResidentThrottle)
    """Requests to the resident's page per link and per client address, and wrong links."""
    documents: Documents = field(default_factory=Documents)
    """Renders the notice and the release report (HTML, PDF)."""
    data_dir: Path | None = None
    """The gateway's data dir, where the archived release reports are; None: none served."""
    lease: Callable[[], tuple[str, int | None]] | None = None
    """(role, epoch) of a gateway of a pair (``ISOGATE_HA``); None for a single gateway."""

    def now(self) -> datetime:
        """The gateway's clock (tests move it)."""
        return self.ops.clock.now()


def _context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


Ctx = Annotated[ApiContext, Depends(_context)]
Authed = Annotated[User, Depends(current_user)]

_WHY = {
    401: "no bearer token or session, or one that is not valid",
    403: "out of the caller's scope or role, or a session request without its CSRF token",
    404: "no such household, alert or handover",
    429: "too many failed logins from this address; see Retry-After",
    409: "the alert is already resolved",
    503: "the database did not answer in time; nothing was changed",
}


def local_iso(ctx: ApiContext, t: datetime, timespec: str = "milliseconds") -> str:
    """A time as the API gives it: ISO 8601 in the site's time zone."""
    return t.astimezone(ctx.desk.directory.tz).isoformat(timespec=timespec)


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error answers a route can give (all ``{"detail": ...}``)."""
    return {code: {"model": ErrorOut, "description": _WHY[code]} for code in codes}


def visible(ctx: ApiContext, user: User, household_id: str) -> None:
    """404 for an unknown household, 403 for one out of the user's scope."""
    if household_id not in ctx.desk.directory.households:
        raise HTTPException(404, f"no household {household_id}")
    if not user.may_see(household_id, ctx.desk.directory):
        raise HTTPException(403, f"household {household_id} is not assigned to {user.name}")


async def alert_for(ctx: ApiContext, user: User, alert_id: str) -> Alert:
    """The alert ``alert_id`` as the user may see it: 404 when unknown, 403 out of scope."""
    alert = await ctx.store.get_alert(alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    visible(ctx, user, alert.household_id)
    return alert


def alert_out(ctx: ApiContext, alert: Alert) -> AlertOut:
    """An alert as SPEC §3 publishes it, with who acted on it and when (the desk renders it)."""
    return AlertOut(**ctx.desk.payload(alert))


async def acted(ctx: ApiContext, action: Awaitable[Alert]) -> AlertOut:
    """The alert after a person's action on it; the desk's refusals as their HTTP answers, 503
    when the database did not take the change in time."""
    try:
        return alert_out(ctx, await action)
    except AlertError as exc:
        raise HTTPException(exc.code, str(exc)) from None
    except DatabaseBusyError as exc:
        raise HTTPException(503, str(exc)) from None
