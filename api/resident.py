"""The resident's page (主动报备, SPEC §7): ``/r/<secret>``, opened from the notice's QR code.

It takes no login: the secret in the path names the household, and is all it names. The page
shows no name, no address and no history; residents are numbered (住户1, 住户2 …) by their
position in the register. Its routes:

- ``GET /r/{secret}``: the page (static HTML, its script and style under ``/static/resident.*``);
- ``GET /r/{secret}/info``: what the page needs to draw itself: how many residents, the choices,
  the announcements left today, the end of the window open now;
- ``POST /r/{secret}`` ``{"reason": "garbage"}``: announce an opening (a short window in which
  the door may open without an alert);
- ``POST /r/{secret}/symptoms`` ``{"resident": 1, "symptoms": ["dry_cough"]}``: the twice-daily
  symptom check (``[]``: none);
- ``POST /r/{secret}/services`` ``{"kind": "supplies", "note": "..."}``: a daily service.

A wrong or rotated secret is 404 with one body whatever the reason, so the answer never tells
whether a household exists. Every request is rate-limited (:mod:`api.resident_throttle`) and a
POST from another site's page is refused (403: ``Sec-Fetch-Site``/``Origin``). Nothing is cached
and no page of it hands its address on as a referrer. What the care desk accepts it audits; what
is refused here is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.auth import same_origin
from api.care_answers import cared
from api.console import STATIC
from api.context import ApiContext, Ctx, local_iso
from api.headers import SECURITY_HEADERS
from api.models import ErrorOut
from api.resident_body import Body, read_body
from api.resident_models import AnnouncedOut, CheckedOut, Choice, InfoOut, RequestedOut
from api.resident_throttle import Verdict
from rules import care
from rules.readings import window_at
from rules.site import Household

log = logging.getLogger("isogate.api.resident")

router = APIRouter(tags=["resident"])

NOT_FOUND = "链接无效或已更换，请向社区工作人员索取新的二维码"
"""The one 404 body of every route here, whatever the reason."""

SECRET_MAX = 64
"""A secret longer than this is wrong without being looked up."""

_HEADERS = SECURITY_HEADERS | {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}

_WHY = {
    403: "a POST from another site's page (Sec-Fetch-Site or Origin)",
    404: "a wrong or rotated link (one body, whatever the reason)",
    409: "the household is not under isolation now (or released)",
    429: "too many requests from this address or for this link, or the day's announcements "
    "are used up; see Retry-After",
    503: "the database did not answer in time; nothing was changed",
}

# What the page says when the care desk refuses, by route and status (the desk speaks English
# to the log; the resident reads Chinese).
_SAY = {
    ("prereport", 409): "当前不在隔离期内，无需报备",
    ("prereport", 422): "请从列表中选择开门事由",
    ("prereport", 429): "今日报备次数已用完；如需开门，请联系社区工作人员",
    ("symptoms", 409): "当前不在隔离期内，无需填报症状",
    ("symptoms", 422): "症状选项无效，请重新选择",
    ("services", 409): "当前不在隔离期内，无法申请服务",
    ("services", 422): "请从列表中选择服务",
    ("services", 429): "已有多项请求尚未处理，请等工作人员处理后再申请",
}
_BUSY = "系统繁忙，请稍后再试"


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut, "description": _WHY[code]} for code in codes}


def _body_doc(*shapes: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """OpenAPI request body, JSON or form, of an object with these properties."""
    props = dict(shapes)
    schema = {"type": "object", "required": [next(iter(props))], "properties": props}
    media = ("application/json", "application/x-www-form-urlencoded")
    return {"requestBody": {"required": True, "content": {m: {"schema": schema} for m in media}}}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _too_many(verdict: Verdict, what: str, client: str) -> HTTPException:
    if verdict.first_refusal:
        log.warning("resident page: %s over its rate (from %s)", what, client)
    return HTTPException(
        429, f"请求过于频繁，请{verdict.wait}秒后再试", headers={"Retry-After": str(verdict.wait)}
    )


async def _household(ctx: Ctx, request: Request, secret: str) -> Household:
    """The household the secret names now: 404 (one body) when none, 429 over a rate."""
    now = ctx.now()
    client = _client(request)
    throttle = ctx.resident_throttle
    refused = throttle.client(client, now)
    if refused:
        raise _too_many(refused, f"address {client}", client)
    desk = ctx.care
    found = desk.household_for(secret) if desk and 0 < len(secret) <= SECRET_MAX else None
    hh = desk.directory.households.get(found) if desk and found else None
    if hh is None:
        throttle.wrong_secret(client, now)
        log.warning("resident page: a wrong or rotated link from %s", client)
        raise HTTPException(404, NOT_FOUND, headers=_HEADERS)
    refused = throttle.link(hh.id, now)
    if refused:
        raise _too_many(refused, f"the link of household {hh.id}", client)
    return hh


def _same_site(ctx: Ctx, request: Request) -> None:
    """403 for a POST a page of another site sent (the browser says so; tools send neither)."""
    fetch_site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    foreign = fetch_site is not None and fetch_site not in ("same-origin", "none")
    if origin is not None and not same_origin(origin, request.headers.get("host"), ctx.public_url):
        foreign = True
    if foreign:
        log.warning(
            "resident page: a POST from another site refused (%s, Origin %r, from %s)",
            fetch_site,
            origin,
            _client(request),
        )
        raise HTTPException(403, "请在报备页面内操作")


Resident = Annotated[Household, Depends(_household)]
SameSite = Depends(_same_site)


def _refused(
    ctx: ApiContext, route: str, household: str
) -> Callable[[care.CareRefusedError], HTTPException]:
    """How the page answers the care desk's refusal of ``route``: in Chinese, logged; a 404 as
    the page's one not-found body; a 429 of the announcements with when they start afresh."""

    def answer(exc: care.CareRefusedError) -> HTTPException:
        log.info(
            "resident page: %s of household %s refused (%d): %s", route, household, exc.code, exc
        )
        if exc.code == 404:
            return HTTPException(404, NOT_FOUND, headers=_HEADERS)
        refused = HTTPException(exc.code, _SAY.get((route, exc.code), _BUSY))
        if route == "prereport" and exc.code == 429:
            refused.headers = {"Retry-After": str(_until_tomorrow(ctx, ctx.now()))}
        return refused

    return answer


def _state(ctx: ApiContext, hh: Household) -> care.CareState | None:
    """The household's announced openings and release, as the door rule sees them now."""
    return ctx.care.pipeline.watch.care.get(hh.id) if ctx.care else None


def _remaining(ctx: ApiContext, hh: Household, now: datetime) -> int:
    """Announcements the household has left today."""
    d = ctx.desk.directory
    state = _state(ctx, hh)
    used = care.prereports_on(state, now.astimezone(d.tz).date(), d.tz)
    return max(0, d.policy.prereports_per_day - used)


def _open_until(ctx: ApiContext, hh: Household, now: datetime) -> datetime | None:
    """The end of the household's announced window open now (the latest, if several)."""
    state = _state(ctx, hh)
    ends = [
        w.end for w in (state.windows if state else ()) if w.kind == "prereport" and w.contains(now)
    ]
    return max(ends, default=None)


def _isolated(ctx: ApiContext, hh: Household, now: datetime) -> bool:
    try:
        care.under_isolation(hh, _state(ctx, hh), now)
    except care.CareRefusedError:
        return False
    return True


def _hhmm(ctx: ApiContext, t: datetime) -> str:
    return t.astimezone(ctx.desk.directory.tz).strftime("%H:%M")


def _choices(table: dict[str, str]) -> list[Choice]:
    return [Choice(key=k, label=v) for k, v in table.items()]


_GONE = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">
<title>居家隔离报备</title><link rel="stylesheet" href="/static/resident.css">
</head><body><main><h1>居家隔离报备</h1>
<p class="notice" data-kind="error">{NOT_FOUND}</p></main></body>
</html>
"""

_PAGE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the page (HTML; its script reads /info)",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
    404: {
        "description": "a wrong or rotated link: one small page (HTML), whatever the reason",
        "content": {"text/html": {"schema": {"type": "string"}}},
    },
}


@router.get("/r/{secret}", response_class=Response, responses=_PAGE | _errors(429))
async def page(ctx: Ctx, request: Request, secret: str) -> Response:
    """The resident's page: the same file for every household; it names nobody. A wrong or
    rotated link gets one small page saying so (the same whatever the reason)."""
    try:
        await _household(ctx, request, secret)
    except HTTPException as exc:
        if exc.status_code != 404:
            raise
        return HTMLResponse(_GONE, status_code=404, headers=_HEADERS)
    return FileResponse(
        STATIC / "resident.html", media_type="text/html; charset=utf-8", headers=_HEADERS
    )


@router.get("/r/{secret}/info", responses=_errors(404, 429))
async def info(ctx: Ctx, hh: Resident, response: Response) -> InfoOut:
    """How many residents, the choices, the announcements left today, the open window's end."""
    now = ctx.now()
    d = ctx.desk.directory
    until = _open_until(ctx, hh, now)
    reading = window_at(d.policy.reading_windows, now, d.tz)
    response.headers.update(_HEADERS)
    return InfoOut(
        residents=len(hh.residents),
        isolated=_isolated(ctx, hh, now),
        reasons=_choices(care.PREREPORT_REASONS),
        symptoms=_choices(care.SYMPTOMS),
        services=_choices(care.SERVICE_KINDS),
        minutes=d.policy.prereport_minutes,
        per_day=d.policy.prereports_per_day,
        remaining=_remaining(ctx, hh, now),
        open_until=_hhmm(ctx, until) if until else None,
        reading_window=reading.span if reading else None,
        hotline=d.site.hotline,
    )


@router.post(
    "/r/{secret}",
    dependencies=[SameSite],
    responses=_errors(403, 404, 409, 429, 503),
    openapi_extra=_body_doc(("reason", {"type": "string", "enum": list(care.PREREPORT_REASONS)})),
)
async def announce(
    ctx: Ctx, hh: Resident, body: Annotated[Body, Depends(read_body)]
) -> AnnouncedOut:
    """Announce an opening: for the next few minutes the door may open without an alert."""
    assert ctx.care is not None  # a secret was found: the desk is there
    reason = body.text("reason")
    if reason is None:
        raise HTTPException(422, _SAY[("prereport", 422)])
    window = await cared(
        ctx.care.prereport(hh.id, reason), _refused(ctx, "prereport", hh.id), _BUSY
    )
    return AnnouncedOut(
        reason=window.reason,
        start=local_iso(ctx, window.start, "seconds"),
        end=local_iso(ctx, window.end, "seconds"),
        until=_hhmm(ctx, window.end),
        remaining=_remaining(ctx, hh, window.start),
    )


def _until_tomorrow(ctx: ApiContext, now: datetime) -> int:
    """Seconds until the next local midnight (when the day's announcements start afresh)."""
    local = now.astimezone(ctx.desk.directory.tz)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), local.tzinfo)
    return max(1, int((midnight - local).total_seconds()))


@router.post(
    "/r/{secret}/symptoms",
    dependencies=[SameSite],
    responses=_errors(403, 404, 409, 429, 503),
    openapi_extra=_body_doc(
        ("resident", {"type": "integer", "minimum": 1, "description": "position on the page"}),
        ("symptoms", {"type": "array", "items": {"enum": list(care.SYMPTOMS)}}),
    ),
)
async def symptoms(ctx: Ctx, hh: Resident, body: Annotated[Body, Depends(read_body)]) -> CheckedOut:
    """The twice-daily symptom check of one resident, named by position (``[]``: none)."""
    assert ctx.care is not None
    position = body.number("resident")
    said = body.texts("symptoms")
    if position is None or not 1 <= position <= len(hh.residents):
        raise HTTPException(422, "请选择住户")
    if said is None or len(said) > len(care.SYMPTOMS):
        raise HTTPException(422, _SAY[("symptoms", 422)])
    resident = hh.residents[position - 1].id
    check, alert = await cared(
        ctx.care.symptoms(hh.id, resident, said, "resident", "resident", "page"),
        _refused(ctx, "symptoms", hh.id),
        _BUSY,
    )
    return CheckedOut(
        resident=position,
        symptoms=list(check.symptoms or ()),
        at=local_iso(ctx, check.at, "seconds"),
        alerted=alert is not None,
    )


@router.post(
    "/r/{secret}/services",
    dependencies=[SameSite],
    responses=_errors(403, 404, 409, 429, 503),
    openapi_extra=_body_doc(
        ("kind", {"type": "string", "enum": list(care.SERVICE_KINDS)}),
        ("note", {"type": "string", "maxLength": 200}),
    ),
)
async def services(
    ctx: Ctx, hh: Resident, body: Annotated[Body, Depends(read_body)]
) -> RequestedOut:
    """Ask for supplies or a garbage pickup: a task for the watcher on duty."""
    assert ctx.care is not None
    kind = body.text("kind")
    note = body.text("note")
    if kind is None:
        raise HTTPException(422, _SAY[("services", 422)])
    req = await cared(
        ctx.care.request_service(hh.id, kind, note), _refused(ctx, "services", hh.id), _BUSY
    )
    return RequestedOut(kind=req.kind, requested_at=local_iso(ctx, req.requested_at, "seconds"))
