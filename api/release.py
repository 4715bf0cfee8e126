"""The release report (解除报告单, SPEC §6) of a released household, as archived: the HTML page
and the PDF, each served only after its SHA-256 matches the one recorded when it was archived
(a file changed since is never served: 500, logged); and the list of releases for supervisors.

Who may read a report: the household's doctor and officer, the watchers of its shifts, the
supervisors and admins. Every read is audited (``release_report_read``, ``read_releases``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from api.audit import audited
from api.auth import User, require_role
from api.context import ApiContext, Authed, Ctx, errors, local_iso, visible
from api.models import ErrorOut
from api.notice import PAGE_HEADERS, pdf_response
from gateway.care.archive import report_file
from gateway.store.care_records import Release

log = logging.getLogger("isogate.api.release")

router = APIRouter(prefix="/api/v1", tags=["documents"])

REPORT_ROLES = ("doctor", "officer", "watcher", "supervisor", "admin")
"""Who may read a household's release report (within their scope)."""

_TAMPERED: dict[int | str, dict[str, Any]] = {
    500: {
        "model": ErrorOut,
        "description": "the archived file does not match its recorded SHA-256 (or is gone): "
        "it is not served",
    }
}
_NOT_YET = "no such household, or no release report: not released, or not archived yet"


class ReleaseOut(BaseModel):
    """A released household and its archived report."""

    household: str
    address: str | None = Field(description="null when the household has left the site")
    period_start: str = Field(json_schema_extra={"format": "date-time"})
    period_end: str = Field(json_schema_extra={"format": "date-time"})
    released_at: str = Field(json_schema_extra={"format": "date-time"})
    seal_removed_by: str
    report_sha256: str | None = Field(description="SHA-256 of the archived PDF; null: pending")
    report_html_sha256: str | None = Field(description="SHA-256 of the archived HTML")
    purged_at: str | None = Field(
        json_schema_extra={"format": "date-time"},
        description="when its personal data was purged",
    )


async def _archived(ctx: ApiContext, user: User, household_id: str, suffix: str) -> bytes:
    """The verified bytes of the household's latest archived report."""
    require_role(user, REPORT_ROLES, "the release report")
    visible(ctx, user, household_id)
    releases = await ctx.store.releases([household_id])
    if not releases:
        raise HTTPException(404, f"household {household_id} is not released")
    release = releases[0]
    want = release.report_html_sha256 if suffix == ".html" else release.report_sha256
    path = report_file(ctx.data_dir, release, suffix) if ctx.data_dir else None
    if path is None or want is None:
        raise HTTPException(404, f"the release report of {household_id} is not archived yet")
    try:
        body = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        if release.purged_at is not None:
            raise HTTPException(404, f"the release report of {household_id} was purged") from None
        log.error("release report %s is missing from the archive", path)
        raise HTTPException(500, "the archived release report is missing") from None
    got = hashlib.sha256(body).hexdigest()
    if got != want:
        log.error(
            "release report %s does not match its archived SHA-256 (recorded %s, file %s): "
            "not served",
            path,
            want,
            got,
        )
        raise HTTPException(500, "the archived release report does not match its SHA-256")
    await audited(
        ctx,
        user,
        "release_report_read",
        target=household_id,
        household=household_id,
        detail=suffix.removeprefix("."),
    )
    return body


@router.get(
    "/households/{household_id}/release-report",
    response_class=Response,
    responses={
        200: {
            "description": "the archived page",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    }
    | errors(401, 403)
    | {404: {"model": ErrorOut, "description": _NOT_YET}}
    | _TAMPERED,
)
async def release_report(ctx: Ctx, household_id: str, user: Authed) -> Response:
    """The household's release report as archived at its release (HTML)."""
    body = await _archived(ctx, user, household_id, ".html")
    return HTMLResponse(body, headers=PAGE_HEADERS)


@router.get(
    "/households/{household_id}/release-report.pdf",
    response_class=Response,
    responses={
        200: {
            "description": "the archived PDF",
            "content": {"application/pdf": {"schema": {"type": "string"}}},
        }
    }
    | errors(401, 403)
    | {404: {"model": ErrorOut, "description": _NOT_YET}}
    | _TAMPERED,
)
async def release_report_pdf(ctx: Ctx, household_id: str, user: Authed) -> Response:
    """The household's release report as archived at its release (PDF)."""
    body = await _archived(ctx, user, household_id, ".pdf")
    return pdf_response(body, f"release-{household_id}.pdf")


@router.get("/reports/releases", responses=errors(401, 403))
async def releases(ctx: Ctx, user: Authed) -> list[ReleaseOut]:
    """Every release, newest first, with its archived report's hashes (supervisors, admins)."""
    require_role(user, ("supervisor", "admin"), "the list of releases")
    await audited(ctx, user, "read_releases")
    return [_out(ctx, r) for r in await ctx.store.releases()]


def _out(ctx: ApiContext, r: Release) -> ReleaseOut:
    hh = ctx.desk.directory.households.get(r.household_id)
    return ReleaseOut(
        household=r.household_id,
        address=hh.address if hh else None,
        period_start=local_iso(ctx, r.period_start),
        period_end=local_iso(ctx, r.period_end),
        released_at=local_iso(ctx, r.released_at),
        seal_removed_by=r.seal_removed_by,
        report_sha256=r.report_sha256,
        report_html_sha256=r.report_html_sha256,
        purged_at=local_iso(ctx, r.purged_at) if r.purged_at else None,
    )
