"""``WS /api/v1/stream``: alerts and device events live, after catching up on what was missed.

Messages are JSON objects with a ``kind``: ``alert`` (``alert`` is the AlertOut of SPEC §3, with
who acted and the plan steps), ``event`` (a device event of the log) and, once, ``ready``.

On connecting, the client names the last alert it saw, with ``?after=<alert id>`` or a first
message ``{"after": "<id>"}`` (within :data:`FIRST_MESSAGE_S`). The server first sends, oldest
change first, every alert in the caller's scope changed since that alert last changed, and every
unresolved one; with no ``after``, the unresolved ones. Then ``{"kind": "ready"}``, then live.
``&since=<ISO time>`` (the ``updated_at`` of the last alert message seen) makes the catch-up
exact even when the named alert changed again meanwhile.

No gap, no going back: the viewer is subscribed to the bus *before* the store is read, and a
live copy of an alert no newer than the one the catch-up sent is skipped. A viewer that falls
:data:`gateway.bus.QUEUE_MAX` items behind is closed with code 1013; it reconnects with ``after``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import datetime

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from api.auth import User, websocket_user
from api.context import ApiContext
from gateway.bus import AlertChanged, Overflowed, StreamItem
from gateway.store.records import Alert

CATCH_UP_MAX = 1000
"""At most this many alerts in a catch-up of each kind (changed, unresolved)."""

FIRST_MESSAGE_S = 0.5
"""How long a client without ``?after=`` has to send ``{"after": ...}`` first."""

BEHIND = 1013
"""Close code for a viewer that fell too far behind ("try again later"): reconnect."""

router = APIRouter()


@router.websocket("/api/v1/stream")
async def stream(ws: WebSocket) -> None:
    """Catch up, say ready, then pass on what the gateway commits, in the caller's scope."""
    ctx: ApiContext = ws.app.state.ctx
    user = await websocket_user(ws)
    if user is None:
        await ws.close(code=4401, reason="missing or invalid token")
        return
    await ws.accept()
    with ctx.desk.bus.viewer() as queue, contextlib.suppress(WebSocketDisconnect):
        after = ws.query_params.get("after") or await _first_after(ws)
        since = _time(ws.query_params.get("since"))
        sent = await _catch_up(ws, ctx, user, after, since)
        await ws.send_json({"kind": "ready"})
        await _live(ws, ctx, user, queue, sent)


async def _first_after(ws: WebSocket) -> str | None:
    """The ``after`` of a first ``{"after": id}`` message, if one comes soon enough."""
    try:
        async with asyncio.timeout(FIRST_MESSAGE_S):
            message = await ws.receive()
    except TimeoutError:
        return None
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    try:
        doc = json.loads(message.get("text") or "")
    except ValueError:
        return None
    after = doc.get("after") if isinstance(doc, dict) else None
    return after if isinstance(after, str) and after else None


def _time(text: str | None) -> datetime | None:
    """An aware time from ``?since=``; None when absent or not one."""
    try:
        t = datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return t if t.tzinfo is not None else None


async def _catch_up(
    ws: WebSocket, ctx: ApiContext, user: User, after: str | None, since: datetime | None
) -> dict[str, datetime]:
    """Send what the client missed, oldest change first; returns each sent alert's version."""
    directory = ctx.desk.directory
    scope = user.households(directory)
    found: dict[str, Alert] = {
        a.id: a
        for a in await ctx.store.list_alerts(
            status="unresolved", households=scope, limit=CATCH_UP_MAX
        )
    }
    if since is None and after:
        mark = await ctx.store.get_alert(after)
        if mark is not None and user.may_see(mark.household_id, directory):
            since = mark.updated_at
    if since is not None:
        changed = await ctx.store.alerts_changed_since(since, households=scope, limit=CATCH_UP_MAX)
        found.update((a.id, a) for a in changed)
    ordered = sorted(found.values(), key=lambda a: (a.updated_at, a.id))
    for alert in ordered:
        await ws.send_json(AlertChanged(alert, ctx.desk.payload(alert)).to_json())
    return {a.id: a.updated_at for a in ordered}


def _shown(item: StreamItem, ctx: ApiContext, user: User, sent: dict[str, datetime]) -> bool:
    """Whether the viewer is to get a live item: in scope, and no older than what it has."""
    hid = item.household
    directory = ctx.desk.directory
    if hid is None:
        if user.households(directory) is not None:
            return False
    elif not user.may_see(hid, directory):
        return False
    if isinstance(item, AlertChanged):
        had = sent.get(item.alert.id)
        return had is None or item.alert.updated_at > had
    return True


async def _live(
    ws: WebSocket,
    ctx: ApiContext,
    user: User,
    queue: asyncio.Queue[StreamItem | Overflowed],
    sent: dict[str, datetime],
) -> None:
    """Pass on live items until the client leaves, the server stops, or the viewer falls behind."""
    # Listen as well as send: a viewer that leaves, or a server shutting down, is noticed even
    # when nothing is published for this viewer.
    closed = asyncio.ensure_future(_until_closed(ws))
    try:
        while True:
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, closed}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                return
            item = getter.result()
            if isinstance(item, Overflowed):
                await ws.close(code=BEHIND, reason="fell behind: reconnect with ?after=")
                return
            if _shown(item, ctx, user, sent):
                await ws.send_json(item.to_json())
    finally:
        closed.cancel()


async def _until_closed(ws: WebSocket) -> None:
    """Return when the client goes away (the console sends nothing more we need)."""
    with contextlib.suppress(WebSocketDisconnect):
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass
