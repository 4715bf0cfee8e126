"""The alert page behind a message's signed link: what a phone shows without a login.

``GET /l/alert/{id}?exp=&sig=`` answers a small HTML page — the alert's type, address, time,
status and snapshot — for as long as the link works (``link_hours``); a link tampered with or
expired is 403. Every text on it is escaped: an address is what a site file says, not markup.
The page itself links only the snapshot, signed with the same expiry. Reads are audited as
``via=link``.
"""

from __future__ import annotations

from html import escape
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from api.audit import audited
from api.auth import LINK_USER
from api.context import Ctx, errors
from gateway.notify.channels.text import SEVERITY_LABELS, TITLES
from rules.alerts import AlertStatus

router = APIRouter(tags=["links"])

STATUS_LABELS = {
    AlertStatus.OPEN: "待处理",
    AlertStatus.ESCALATED: "已升级",
    AlertStatus.ACKNOWLEDGED: "已确认",
    AlertStatus.RESOLVED: "已解除",
}

# Nothing but the page's own style and the snapshot from this gateway; the signed URL is not
# handed to any other site as a referrer, nor kept in a cache.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}

_HTML: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the alert page (HTML)",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}

_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title}</title>
<style>body{{font:16px/1.5 sans-serif;margin:1em;max-width:40em}}
h1{{font-size:1.3em}}dt{{color:#555}}dd{{margin:0 0 .6em}}img{{max-width:100%}}</style>
</head><body>
<h1>{title}</h1>
<dl><dt>地址</dt><dd>{address}</dd><dt>时间</dt><dd>{time}</dd>
<dt>状态</dt><dd>{status}</dd><dt>详情</dt><dd>{message}</dd></dl>
{snapshot}
<p>请登录控制台处置。</p>
</body></html>
"""


@router.get(
    "/l/alert/{alert_id}",
    response_class=Response,
    responses=_HTML | errors(403, 404),
)
async def alert_page(
    ctx: Ctx, alert_id: str, request: Request, exp: str | None = None, sig: str | None = None
) -> HTMLResponse:
    """The alert as a phone shows it, opened from a message's signed link (no login)."""
    links = ctx.links
    now = ctx.now()
    if links is None or not links.verify(request.url.path, exp, sig, now.timestamp()):
        raise HTTPException(403, "the link is not valid or has expired")
    alert = await ctx.store.get_alert(alert_id)
    if alert is None:
        raise HTTPException(404, f"no alert {alert_id}")
    d = ctx.desk.directory
    hh = d.households.get(alert.household_id)
    title = f"{SEVERITY_LABELS[alert.severity]}·{TITLES.get(alert.type, alert.type.value)}"
    snapshot = ""
    if alert.snapshot:
        # Same expiry as the page's own link: the page never outlives what it shows.
        src = links.sign(alert.snapshot, int(exp or 0))
        snapshot = f'<p><img src="{escape(src)}" alt="快照"></p>'
    await audited(ctx, LINK_USER, "read_alert", target=alert.id, household=alert.household_id)
    page = _PAGE.format(
        title=escape(title),
        address=escape(hh.address if hh else alert.household_id),
        time=escape(alert.raised_at.astimezone(d.tz).strftime("%Y-%m-%d %H:%M:%S")),
        status=escape(STATUS_LABELS.get(alert.status, alert.status.value)),
        message=escape(alert.message),
        snapshot=snapshot,
    )
    return HTMLResponse(page, headers=_HEADERS)
