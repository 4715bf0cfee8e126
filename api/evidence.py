"""An alert's evidence: its snapshot, the manifest of kept frames, each frame (SPEC §2.4).

Who may read an alert may read its evidence, and no one else: each route first finds the alert
the way ``GET /api/v1/alerts/{id}`` does (404 unknown, 403 out of the caller's scope). The
snapshot also opens with a signed link of a message (``?exp=&sig=``, :mod:`gateway.links`),
without a login. Every read is audited.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import Response
from pydantic import BaseModel, Field

from api.audit import audited
from api.auth import LINK_USER, User, signed_or_user
from api.context import ApiContext, Authed, Ctx, alert_for, errors
from gateway.camera.evidence import AlertIdError, CaptureStatus, EvidenceStore, Manifest

router = APIRouter(prefix="/api/v1/alerts", tags=["evidence"])

_JPEG: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the JPEG as the camera sent it; its ETag is its SHA-256",
        "content": {"image/jpeg": {"schema": {"type": "string"}}},
    }
}


class EvidenceFrameOut(BaseModel):
    """One kept frame, where to get it, and the hash to check it against."""

    file: str
    url: str = Field(description="GET it for the JPEG")
    camera: str
    t: str = Field(description="when the camera took it", json_schema_extra={"format": "date-time"})
    sha256: str = Field(description="SHA-256 of the file, hex")
    bytes: int
    score: float = Field(description="how much it shows; the highest is the snapshot")


class EvidenceOut(BaseModel):
    """The manifest of an alert's evidence, as kept beside the database."""

    alert_id: str
    household: str
    raised_at: str = Field(json_schema_extra={"format": "date-time"})
    before_s: float = Field(description="frames kept from this long before the alert")
    after_s: float = Field(description="to this long after it")
    status: CaptureStatus = Field(description="capturing: frames may still come")
    cameras: list[str]
    best: str | None = Field(description="file of the best frame; null with no frame")
    snapshot: str | None = Field(description="link to the best frame; null with no frame")
    frames: list[EvidenceFrameOut] = Field(description="in time order")
    created_at: str = Field(json_schema_extra={"format": "date-time"})
    updated_at: str = Field(json_schema_extra={"format": "date-time"})


def _frame_url(alert_id: str, file: str) -> str:
    return f"/api/v1/alerts/{alert_id}/evidence/{quote(file, safe='')}"


async def _evidence(ctx: ApiContext, user: User, alert_id: str) -> tuple[EvidenceStore, Manifest]:
    """The evidence store and the alert's manifest; 404 when none is kept."""
    if user is LINK_USER:  # the signature named this alert's path
        found = await ctx.store.get_alert(alert_id)
        if found is None:
            raise HTTPException(404, f"no alert {alert_id}")
        alert = found
    else:
        alert = await alert_for(ctx, user, alert_id)
    store = ctx.evidence
    if store is None:
        raise HTTPException(404, "this gateway keeps no evidence")
    try:
        manifest = await asyncio.to_thread(store.manifest, alert.id)
    except AlertIdError:
        manifest = None
    # A manifest for another household than the alert's is not this alert's evidence.
    if manifest is None or manifest.household != alert.household_id:
        raise HTTPException(404, f"no evidence is kept for alert {alert_id}")
    return store, manifest


async def _jpeg(store: EvidenceStore, manifest: Manifest, file: str) -> Response:
    """One kept frame's file as a response; 404 when the manifest names no such file."""

    def read() -> bytes | None:
        path = store.frame_path(manifest.alert_id, file)
        try:
            return None if path is None else path.read_bytes()
        except FileNotFoundError:  # pruned meanwhile
            return None

    frame = manifest.frame(file)
    data = await asyncio.to_thread(read) if frame is not None else None
    if frame is None or data is None:
        raise HTTPException(404, f"alert {manifest.alert_id} has no evidence file {file!r}")
    return Response(data, media_type="image/jpeg", headers={"ETag": f'"{frame.sha256}"'})


@router.get(
    "/{alert_id}/snapshot",
    response_class=Response,
    responses=_JPEG | errors(401, 403, 404),
)
async def snapshot(
    ctx: Ctx, alert_id: str, user: Annotated[User, Depends(signed_or_user)]
) -> Response:
    """The alert's best frame (the most motion at the door, nearest the alert).

    With ``?exp=&sig=`` of a message's signed link no login is needed; a link tampered with
    or expired is 403."""
    store, manifest = await _evidence(ctx, user, alert_id)
    if manifest.best is None:
        raise HTTPException(404, f"alert {alert_id} has no snapshot: no frame was kept")
    await audited(ctx, user, "read_snapshot", target=alert_id, household=manifest.household)
    return await _jpeg(store, manifest, manifest.best)


@router.get("/{alert_id}/evidence", responses=errors(401, 403, 404))
async def evidence(ctx: Ctx, alert_id: str, user: Authed) -> EvidenceOut:
    """The manifest of the alert's evidence: each frame with its time, camera, hash and link."""
    _, manifest = await _evidence(ctx, user, alert_id)
    await audited(ctx, user, "read_evidence", target=alert_id, household=manifest.household)
    kept = manifest.model_dump(mode="json", exclude={"version", "frames"})
    return EvidenceOut(
        **kept,
        snapshot=manifest.best and f"/api/v1/alerts/{manifest.alert_id}/snapshot",
        frames=[
            EvidenceFrameOut(**f.model_dump(mode="json"), url=_frame_url(manifest.alert_id, f.file))
            for f in manifest.frames
        ],
    )


@router.get(
    "/{alert_id}/evidence/{file}",
    response_class=Response,
    responses=_JPEG | errors(401, 403, 404),
)
async def evidence_file(ctx: Ctx, alert_id: str, file: str, user: Authed) -> Response:
    """One frame of the alert's evidence, as named in its manifest."""
    store, manifest = await _evidence(ctx, user, alert_id)
    await audited(
        ctx, user, "read_evidence", target=alert_id, household=manifest.household, detail=file
    )
    return await _jpeg(store, manifest, file)
