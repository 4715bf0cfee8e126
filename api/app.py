"""The API app factory: collaborators are passed in, so tests build it on a temp database."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Query, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field

from api.auth import User, current_user
from gateway.alerting.desk import AlertDesk, AlertError
from gateway.alerting.operations import AlertOps
from gateway.health import Health
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


class Note(BaseModel):
    """Body of ack/resolve."""

    note: str | None = Field(None, max_length=2000)


Authed = Annotated[User, Depends(current_user)]


async def _until_closed(ws: WebSocket) -> None:
    """Return when the client goes away (the console sends nothing we need)."""
    with contextlib.suppress(WebSocketDisconnect):
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass


def create_app(ctx: ApiContext) -> FastAPI:
    """Build the API around a running gateway's store and alert desk."""
    app = FastAPI(title="isogate", version="0.1.0", docs_url="/api/docs", redoc_url=None)
    app.state.ctx = ctx

    def alert_json(alert: Alert) -> dict[str, Any]:
        return ctx.desk.payload(alert) | {
            "acked_by": alert.acked_by,
            "resolved_by": alert.resolved_by,
            "note": alert.note,
        }

    def visible(user: User, household_id: str) -> None:
        if household_id not in ctx.desk.directory.households:
            raise HTTPException(404, f"no household {household_id}")
        if not user.may_see(household_id, ctx.desk.directory):
            raise HTTPException(403, f"household {household_id} is not assigned to {user.name}")

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        broker, db = ctx.broker_up(), await ctx.store.ping()
        body = {"broker": "up" if broker else "down", "database": "up" if db else "down"}
        return JSONResponse(body, status_code=200 if broker and db else 503)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/v1/alerts")
    async def list_alerts(
        user: Authed,
        status: str | None = None,
        household: str | None = None,
        type: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, Any]]:
        scope = user.households(ctx.desk.directory)
        if household is not None:
            visible(user, household)
            scope = {household}
        alerts = await ctx.store.list_alerts(
            status=status, households=scope, type=type, limit=limit
        )
        return [alert_json(a) for a in alerts]

    async def _alert_for(user: User, alert_id: str) -> Alert:
        alert = await ctx.store.get_alert(alert_id)
        if alert is None:
            raise HTTPException(404, f"no alert {alert_id}")
        visible(user, alert.household_id)
        return alert

    @app.get("/api/v1/alerts/{alert_id}")
    async def get_alert(alert_id: str, user: Authed) -> dict[str, Any]:
        alert = await _alert_for(user, alert_id)
        history = await ctx.store.alert_history(alert_id)
        return alert_json(alert) | {
            "history": [
                {"at": h.at.isoformat(), "action": h.action, "by": h.by, "note": h.note}
                for h in history
            ],
            "deliveries": await ctx.store.alert_deliveries(alert_id),
        }

    @app.post("/api/v1/alerts/{alert_id}/ack")
    async def ack(alert_id: str, user: Authed, body: Note | None = None) -> dict[str, Any]:
        await _alert_for(user, alert_id)
        try:
            return alert_json(await ctx.ops.ack(alert_id, user.name))
        except AlertError as exc:
            raise HTTPException(exc.code, str(exc)) from None

    @app.post("/api/v1/alerts/{alert_id}/resolve")
    async def resolve(alert_id: str, user: Authed, body: Note) -> dict[str, Any]:
        await _alert_for(user, alert_id)
        try:
            return alert_json(await ctx.ops.resolve(alert_id, user.name, body.note))
        except AlertError as exc:
            raise HTTPException(exc.code, str(exc)) from None

    @app.get("/api/v1/rejected")
    async def rejected(
        user: Authed, limit: Annotated[int, Query(ge=1, le=1000)] = 200
    ) -> list[dict[str, Any]]:
        return [
            {
                "received_at": r.received_at.isoformat(),
                "source": r.source,
                "topic": r.topic,
                "device": r.device_key,
                "reason": r.reason,
                "payload": r.payload,
            }
            for r in await ctx.store.list_rejected(limit)
        ]

    @app.get("/api/v1/devices/unknown")
    async def unknown(
        user: Authed, limit: Annotated[int, Query(ge=1, le=1000)] = 200
    ) -> list[dict[str, Any]]:
        return [
            r | {"first_seen": r["first_seen"].isoformat(), "last_seen": r["last_seen"].isoformat()}
            for r in await ctx.store.list_unknown(limit)
        ]

    @app.get("/api/v1/households")
    async def households(user: Authed) -> list[dict[str, Any]]:
        d = ctx.desk.directory
        scope = user.households(d)
        return [
            {"id": h.id, "address": h.address, "residents": [r.name for r in h.residents]}
            for h in d.households.values()
            if scope is None or h.id in scope
        ]

    @app.get("/api/v1/households/{household_id}")
    async def household(household_id: str, user: Authed) -> dict[str, Any]:
        visible(user, household_id)
        hh = ctx.desk.directory.households[household_id]
        states = {s.device_id: s for s in await ctx.store.device_statuses()}
        devices = []
        for dev in hh.devices:
            s = states.get(dev.id)
            devices.append(
                {
                    "id": dev.id,
                    "kind": dev.kind.value,
                    "protocol": dev.protocol.value,
                    "address": dev.address,
                    "last_seen": s.last_seen.isoformat() if s and s.last_seen else None,
                    "online": s.online if s else None,
                    "battery": s.battery if s else None,
                    "door_open": s.door_open if s else None,
                    "last_celsius": s.last_celsius if s else None,
                }
            )
        open_alerts = [alert_json(a) for a in ctx.desk.active() if a.household_id == hh.id]
        return hh.model_dump(mode="json", exclude={"devices"}) | {
            "devices": devices,
            "alerts": open_alerts,
        }

    @app.get("/api/v1/households/{household_id}/events")
    async def events(
        household_id: str,
        user: Authed,
        kind: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    ) -> list[dict[str, Any]]:
        visible(user, household_id)
        return [
            {
                "ts": e.ts.isoformat(),
                "received_at": e.received_at.isoformat(),
                "device": e.device_id,
                "kind": e.kind,
                "report": e.report,
                "data": e.data,
            }
            for e in await ctx.store.household_events(household_id, kind=kind, limit=limit)
        ]

    @app.get("/api/v1/households/{household_id}/readings")
    async def readings(
        household_id: str, user: Authed, limit: Annotated[int, Query(ge=1, le=1000)] = 200
    ) -> list[dict[str, Any]]:
        visible(user, household_id)
        rows = await ctx.store.household_events(household_id, kind="temperature", limit=limit)
        hh = ctx.desk.directory.households[household_id]
        resident_of = {d.id: d.resident for d in hh.devices}
        return [
            {
                "ts": e.ts.isoformat(),
                "device": e.device_id,
                "resident": resident_of.get(e.device_id or ""),
                "celsius": e.data.get("celsius"),
            }
            for e in rows
        ]

    @app.websocket("/api/v1/stream")
    async def stream(ws: WebSocket) -> None:
        # Browsers cannot set headers on a WebSocket: the token may come as ?token=.
        header = ws.headers.get("authorization", "")
        token = header.removeprefix("Bearer ").strip() or ws.query_params.get("token", "")
        found = await ctx.store.user_by_token(token) if token else None
        if found is None:
            await ws.close(code=4401, reason="missing or invalid token")
            return
        user = User(*found)
        await ws.accept()
        with ctx.desk.bus.subscribe() as queue:
            # Listen as well as send: a viewer that leaves, or a server shutting down, is
            # noticed even when nothing is published for this viewer.
            closed = asyncio.ensure_future(_until_closed(ws))
            try:
                while not closed.done():
                    getter = asyncio.ensure_future(queue.get())
                    await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
                    if not getter.done():
                        getter.cancel()
                        break
                    item = getter.result()
                    hid = item.get("household")
                    if hid is None or user.may_see(hid, ctx.desk.directory):
                        await ws.send_json(item)
            except WebSocketDisconnect:
                pass
            finally:
                closed.cancel()

    return app
