"""A household's timeline: its events, readings, alerts and visits, newest first."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.audit import audited
from api.context import Authed, Ctx, errors, local_iso, visible
from gateway.store.event_data import DoorData, StatusData, TemperatureData
from gateway.store.records import Alert, EventRecord, HistoryEntry
from rules.plans import PLANS
from rules.site import Household

router = APIRouter(prefix="/api/v1", tags=["households"])

TIMELINE_MAX = 2000
"""At most this many events (and as many alert entries) in one timeline."""

# What the log's quieter kinds would drown the page in: heartbeats and camera frames.
_QUIET_KINDS = ("heartbeat", "frame")

_DONE = {
    "acknowledged": "确认",
    "resolved": "处置完毕",
    "escalated": "升级",
    "repeated": "再次发生",
    "seen_by_camera": "摄像头见人",
    "accepted": "接班确认",
}


class TimelineEntry(BaseModel):
    """One thing that happened at a household."""

    at: str = Field(json_schema_extra={"format": "date-time"})
    kind: Literal["event", "reading", "alert", "visit"]
    text: str = Field(description="what happened, for people (Chinese, as alert messages are)")
    ref: str | None = Field(description="the alert's id for an alert entry, else null")


def _event(hh: Household, e: EventRecord) -> tuple[Literal["event", "reading"], str]:
    """An event's timeline kind and text."""
    device = e.device_id or e.device_key
    d = e.data
    if isinstance(d, TemperatureData):
        resident_of = {dev.id: dev.resident for dev in hh.devices}
        names = {r.id: r.name for r in hh.residents}
        who = names.get(resident_of.get(device) or "", device)
        return "reading", f"{who} 体温 {d.celsius:.1f}°C"
    if isinstance(d, DoorData):
        text = f"{device} {'开门' if d.open else '关门'}"
    elif isinstance(d, StatusData):
        text = f"{device} {'在线' if d.online else '离线'}"
    elif e.kind == "tamper":
        text = f"{device} 防拆"
    else:
        text = f"{device} {e.kind}"
    return "event", text + (f" ({e.report})" if e.report and e.report != "change" else "")


def _alert(alert: Alert, h: HistoryEntry) -> str:
    """What an alert history entry says on the timeline."""
    if h.action == "raised":
        return alert.message
    if h.action == "step":
        labels = {s.step: s.zh for s in PLANS.get(alert.type, ())}
        said = labels.get(h.note or "", h.note or "")
        return f"{alert.type.value}: {h.by or ''} {said}".strip()
    done = _DONE.get(h.action, h.action)
    text = f"{alert.type.value} {done}" + (f" ({h.by})" if h.by else "")
    return text + (f": {h.note}" if h.note else "")


@router.get("/households/{household_id}/timeline", responses=errors(401, 403, 404))
async def timeline(
    ctx: Ctx,
    household_id: str,
    user: Authed,
    hours: Annotated[int, Query(ge=1, le=24 * 30, description="how far back")] = 48,
) -> list[TimelineEntry]:
    """A household's events, readings, alert history and visits of the last ``hours``."""
    visible(ctx, user, household_id)
    await audited(ctx, user, "read_timeline", target=household_id, household=household_id)
    hh = ctx.desk.directory.households[household_id]
    now = ctx.ops.clock.now()
    since = now - timedelta(hours=hours)
    found: list[tuple[datetime, TimelineEntry]] = []
    for e in await ctx.store.household_events(household_id, since=since, limit=TIMELINE_MAX):
        if e.kind in _QUIET_KINDS:
            continue
        kind, text = _event(hh, e)
        found.append((e.ts, TimelineEntry(at=local_iso(ctx, e.ts), kind=kind, text=text, ref=None)))
    for alert, h in await ctx.store.household_history(household_id, since, TIMELINE_MAX):
        entry = TimelineEntry(
            at=local_iso(ctx, h.at), kind="alert", text=_alert(alert, h), ref=alert.id
        )
        found.append((h.at, entry))
    for v in hh.visits:
        if v.start <= now and v.end >= since:
            escort = f"，陪同 {v.escort}" if v.escort else ""
            local = v.end.astimezone(ctx.desk.directory.tz)
            text = f"授权开门 {v.reason} 至 {local:%H:%M}{escort}"
            found.append(
                (
                    v.start,
                    TimelineEntry(at=local_iso(ctx, v.start), kind="visit", text=text, ref=None),
                )
            )
    found.sort(key=lambda x: x[0], reverse=True)
    return [entry for _, entry in found]
