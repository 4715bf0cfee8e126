"""The API of a standby gateway: ``/healthz`` and ``/metrics`` only, until it takes over.

A standby has not built its state (that happens when it takes the lease), so it serves nothing
else. ``/healthz`` answers 503 with ``role: standby``: a load balancer in front of a pair sends
the console to the active gateway, and monitoring reads the role and epoch from the body.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.models import HealthOut


def create_standby_app(lease: Callable[[], tuple[str, int | None]]) -> FastAPI:
    """The standby's app; ``lease()`` is (role, epoch last seen held by the active one)."""
    app = FastAPI(title="isogate (standby)", version="0.1.0", docs_url=None, redoc_url=None)

    @app.get("/healthz", tags=["operations"], status_code=503)
    async def healthz() -> HealthOut:
        """503 with ``role: standby`` (and the epoch the active gateway holds)."""
        role, epoch = lease()
        body = HealthOut(ok=False, parts=[], role=role, epoch=epoch)
        return JSONResponse(body.model_dump(mode="json"), status_code=503)  # type: ignore[return-value]

    @app.get("/metrics", tags=["operations"], response_class=PlainTextResponse)
    async def metrics() -> Response:
        """The standby's metrics for Prometheus (``isogate_lease_active`` 0)."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def elsewhere(path: str) -> JSONResponse:
        """Everything else: this gateway stands by; the active one serves it."""
        return JSONResponse(
            {"detail": "standby gateway: the active one of the pair serves this"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    return app
