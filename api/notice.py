"""The household's notice (告知书, SPEC §6): a printable page and a PDF, and its receipt (签收).

The notice carries the QR code of the household's pre-report page, and so the link's secret:
only the staff who hand it over (watchers, officers, supervisors) and admins may get it, each
read audited (``notice_read``). Getting it makes the link on first use; it does not rotate it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from api.audit import audited
from api.auth import User, require_role
from api.care_answers import care_desk, cared
from api.context import ApiContext, Authed, Ctx, errors, local_iso, visible
from api.headers import SECURITY_HEADERS
from api.models import ErrorOut
from gateway.care.documents import FontMissingError, NoticeData, notice_data

router = APIRouter(prefix="/api/v1", tags=["documents"])

NOTICE_ROLES = ("watcher", "officer", "supervisor", "admin")
"""Who may get a notice (it carries the pre-report link's secret) and record its receipt."""

_HTML: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the printable page (A4)",
        "content": {"text/html": {"schema": {"type": "string"}}},
    }
}
_PDF: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "an A4 PDF",
        "content": {"application/pdf": {"schema": {"type": "string"}}},
    }
}
NO_FONT: dict[int | str, dict[str, Any]] = {
    503: {
        "model": ErrorOut,
        "description": "the database did not answer in time, or the gateway has no CJK font "
        "for PDFs (the detail says which to install)",
    }
}
# Pages the gateway renders: the console's policy (styles from /static only), never cached.
PAGE_HEADERS = SECURITY_HEADERS | {"Cache-Control": "no-store"}


class ReceiptOut(BaseModel):
    """A notice handed over and signed for."""

    household: str
    at: str = Field(json_schema_extra={"format": "date-time"})
    by: str
    via: str


def pdf_response(body: bytes, filename: str) -> Response:
    """A PDF shown in the browser, saved under ``filename``."""
    return Response(
        body,
        media_type="application/pdf",
        headers=PAGE_HEADERS | {"Content-Disposition": f'inline; filename="{filename}"'},
    )


async def _notice(ctx: ApiContext, request: Request, household_id: str, user: User) -> NoticeData:
    require_role(user, NOTICE_ROLES, "the notice")
    visible(ctx, user, household_id)
    secret = await cared(care_desk(ctx).link_secret(household_id, user.name, user.role, user.via))
    base = ctx.public_url or str(request.base_url)
    url = f"{base.rstrip('/')}/r/{secret}"
    hh = ctx.desk.directory.households[household_id]
    receipts = await ctx.store.notice_receipts(household_id)
    return notice_data(ctx.desk.directory, hh, url, receipts, ctx.now())


@router.get(
    "/households/{household_id}/notice",
    response_class=Response,
    responses=_HTML | errors(401, 403, 404, 503),
)
async def notice(ctx: Ctx, request: Request, household_id: str, user: Authed) -> Response:
    """The household's notice as a printable page, with when it was last handed over."""
    n = await _notice(ctx, request, household_id, user)
    await audited(ctx, user, "notice_read", target=household_id, household=household_id)
    return HTMLResponse(ctx.documents.notice_html(n), headers=PAGE_HEADERS)


@router.get(
    "/households/{household_id}/notice.pdf",
    response_class=Response,
    responses=_PDF | errors(401, 403, 404, 503) | NO_FONT,
)
async def notice_pdf(ctx: Ctx, request: Request, household_id: str, user: Authed) -> Response:
    """The household's notice as an A4 PDF (503 when the gateway has no CJK font)."""
    n = await _notice(ctx, request, household_id, user)
    try:
        body = await ctx.documents.notice_pdf(n, ctx.now())
    except FontMissingError as exc:
        raise HTTPException(503, f"no PDF: {exc}") from None
    await audited(
        ctx, user, "notice_read", target=household_id, household=household_id, detail="pdf"
    )
    return pdf_response(body, f"notice-{household_id}.pdf")


@router.post("/households/{household_id}/notice/receipt", responses=errors(401, 403, 404, 503))
async def notice_receipt(ctx: Ctx, household_id: str, user: Authed) -> ReceiptOut:
    """Record that the notice was handed over and signed for (签收), by the caller, now."""
    require_role(user, NOTICE_ROLES, "the notice's receipt")
    visible(ctx, user, household_id)
    r = await cared(care_desk(ctx).notice_receipt(household_id, user.name, user.role, user.via))
    return ReceiptOut(household=r.household_id, at=local_iso(ctx, r.at), by=r.by, via=r.via)
