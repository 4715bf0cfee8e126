"""Console login: a token of ``isogate user add`` exchanged for a session cookie (SPEC §6, §7).

``POST /api/v1/session`` with ``{"token": …}`` (JSON, or a form field ``token``) sets the
``isogate_session`` cookie (HttpOnly, SameSite=Strict, Path=/) and answers the session's CSRF
token, which the page sends back in ``X-CSRF-Token`` with every unsafe request. The cookie holds
a random id; the store keeps only its hash. A session ends at logout, at ``session_hours`` after
login, or when its user is revoked.

Failed logins are counted per client address (:mod:`api.throttle`): logged, audited, and past a
few, the address must wait longer before each next try (429 with Retry-After until then).
"""

from __future__ import annotations

import json
import logging
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.auth import SESSION_COOKIE, User, check_csrf, same_origin, session_of
from api.context import ApiContext, Ctx, errors
from gateway.store import token_hash
from gateway.store.records import AuditEntry, SessionRecord

log = logging.getLogger("isogate.api.session")

router = APIRouter(prefix="/api/v1", tags=["session"])

MAX_LOGIN_BODY = 4096
"""A login body larger than this is not a token."""


class SessionOut(BaseModel):
    """Who is logged in, until when, and the token unsafe requests must carry."""

    name: str
    role: str
    csrf: str = Field(description="send it in X-CSRF-Token with POST/PUT/PATCH/DELETE")
    expires_at: str = Field(json_schema_extra={"format": "date-time"})


_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            media: {
                "schema": {
                    "type": "object",
                    "required": ["token"],
                    "properties": {"token": {"type": "string", "maxLength": 512}},
                }
            }
            for media in ("application/json", "application/x-www-form-urlencoded")
        },
    }
}


def _out(ctx: ApiContext, s: SessionRecord) -> SessionOut:
    expires = s.expires_at.astimezone(ctx.desk.directory.tz).isoformat(timespec="seconds")
    return SessionOut(name=s.user_name, role=s.role, csrf=s.csrf, expires_at=expires)


async def _token_of(request: Request) -> str:
    """The token of a login body (JSON or form); 422 without one."""
    body = await request.body()
    if len(body) > MAX_LOGIN_BODY:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the body is too large")
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    token: Any = None
    if kind == "application/x-www-form-urlencoded":
        given = parse_qs(body.decode("utf-8", "replace")).get("token")
        token = given[0] if given else None
    else:
        try:
            doc = json.loads(body)
        except ValueError:
            doc = None
        if isinstance(doc, dict):
            token = doc.get("token")
    if not isinstance(token, str) or not token.strip() or len(token) > 512:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "a token is needed")
    return token.strip()


async def _refuse(ctx: ApiContext, client: str) -> HTTPException:
    """Count, log and audit a failed login; the 401 to answer."""
    now = ctx.now()
    failures = ctx.throttle.failed(client, now)
    wait = ctx.throttle.delay_after(failures)
    log.warning(
        "failed console login from %s (%d in a row; next try in %g s)", client, failures, wait
    )
    await ctx.store.append_audit(
        [
            AuditEntry(
                at=now,
                actor="unknown",
                role="none",
                action="login_failed",
                via="console",
                detail=f"from {client}, {failures} in a row",
            )
        ]
    )
    return HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid token")


@router.post(
    "/session",
    responses=errors(401, 403, 429),
    openapi_extra=_LOGIN_BODY,
    response_model=SessionOut,
)
async def login(ctx: Ctx, request: Request) -> Response:
    """Log in with a token: sets the session cookie; answers the session and its CSRF token."""
    origin = request.headers.get("origin")
    if origin is not None and not same_origin(origin, request.headers.get("host"), ctx.public_url):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a login from another site's page")
    client = request.client.host if request.client else "unknown"
    wait = ctx.throttle.retry_after(client, ctx.now())
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed logins from {client}; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    token = await _token_of(request)
    found = await ctx.store.user_by_token(token)
    if found is None:
        raise await _refuse(ctx, client)
    ctx.throttle.succeeded(client)
    now = ctx.now()
    session_id = secrets.token_urlsafe(32)
    session = SessionRecord(
        id_hash=token_hash(session_id),
        user_name=found[0],
        role=found[1],
        csrf=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + timedelta(hours=ctx.session_hours),
    )
    await ctx.store.create_session(session)
    user = User(session.user_name, session.role, "console")
    await ctx.store.append_audit(
        [AuditEntry(now, user.name, user.role, "login", "console", detail=f"from {client}")]
    )
    response = JSONResponse(_out(ctx, session).model_dump())
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=int(ctx.session_hours * 3600),
        path="/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/session", responses=errors(401))
async def current_session(ctx: Ctx, request: Request) -> SessionOut:
    """The session of the cookie: who, until when, its CSRF token; 401 when none is live."""
    session = await session_of(request)
    if session is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no live session")
    return _out(ctx, session)


@router.delete("/session", status_code=204, response_class=Response, responses=errors(401, 403))
async def logout(ctx: Ctx, request: Request) -> Response:
    """Log out: the session ends and the cookie is cleared (needs X-CSRF-Token)."""
    session = await session_of(request)
    if session is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no live session")
    check_csrf(request, session)
    now = ctx.now()
    await ctx.store.end_session(request.cookies[SESSION_COOKIE], now)
    await ctx.store.append_audit(
        [AuditEntry(now, session.user_name, session.role, "logout", "console")]
    )
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return response
