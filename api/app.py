"""The API app factory: collaborators are passed in, so tests build it on a temp database."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api import (
    alerts,
    audit,
    care_routes,
    console,
    evidence,
    households,
    links,
    notice,
    plans,
    release,
    reports,
    resident,
    roster,
    services,
    session,
    signoffs,
    stream,
    technician,
    temperature_log,
    timeline,
    visits,
)
from api.context import ApiContext
from api.models import HealthOut, PartOut

PING_WITHIN_S = 2.0
"""How long ``/healthz`` waits for the database to answer a ping."""

__all__ = ["ApiContext", "create_app"]


async def _check_database(ctx: ApiContext, pending: set[asyncio.Task[bool]]) -> None:
    """Ping the database, in bounded time, into the ``check:database`` part."""
    ping = asyncio.ensure_future(ctx.store.ping())
    done, _ = await asyncio.wait({ping}, timeout=PING_WITHIN_S)
    if not done:
        # Not cancelled: a cancelled query unwinds only when the database answers anyway.
        pending.add(ping)
        ping.add_done_callback(pending.discard)
        ctx.health.down("check:database", f"no answer to a ping within {PING_WITHIN_S:g} s")
    elif ping.result():
        ctx.health.up("check:database")
    else:
        ctx.health.down("check:database", "a ping failed")


def create_app(ctx: ApiContext) -> FastAPI:
    """Build the API around a running gateway's store and alert desk."""
    app = FastAPI(title="isogate", version="0.1.0", docs_url=None, redoc_url=None)
    app.state.ctx = ctx
    app.include_router(alerts.router)
    app.include_router(evidence.router)
    app.include_router(households.router)
    app.include_router(session.router)
    app.include_router(audit.router)
    app.include_router(links.router)
    app.include_router(plans.router)
    app.include_router(roster.router)
    app.include_router(timeline.router)
    app.include_router(technician.router)
    app.include_router(care_routes.router)
    app.include_router(resident.router)
    app.include_router(notice.router)
    app.include_router(release.router)
    app.include_router(visits.router)
    app.include_router(services.router)
    app.include_router(signoffs.router)
    app.include_router(temperature_log.router)
    app.include_router(reports.router)
    app.include_router(stream.router)
    app.include_router(console.router)
    ctx.health.probe(
        "check:broker", lambda: None if ctx.broker_up() else "not connected to the broker"
    )
    pings: set[asyncio.Task[bool]] = set()

    @app.get(
        "/healthz",
        tags=["operations"],
        responses={503: {"model": HealthOut, "description": "a part is down; see its reason"}},
    )
    async def healthz() -> HealthOut:
        """200 when every part is up, the database answers and the broker is connected."""
        await _check_database(ctx, pings)
        parts = [
            PartOut(name=p.name, ok=p.ok, reason=p.reason, since=p.since.isoformat())
            for p in ctx.health.parts()
        ]
        role, epoch = ctx.lease() if ctx.lease is not None else ("active", None)
        body = HealthOut(ok=all(p.ok for p in parts), parts=parts, role=role, epoch=epoch)
        return JSONResponse(  # type: ignore[return-value]  # documented as HealthOut
            body.model_dump(mode="json"), status_code=200 if body.ok else 503
        )

    @app.get(
        "/metrics",
        tags=["operations"],
        response_class=PlainTextResponse,
        responses={200: {"description": "Prometheus text exposition"}},
    )
    async def metrics() -> Response:
        """The gateway's metrics for Prometheus."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
