"""Who is calling: a bearer token of ``isogate user add``, or the console's session cookie; and
what each role may see and do.

A request carries either ``Authorization: Bearer <token>`` (tools; no CSRF header needed) or the
``isogate_session`` cookie of a console login. A browser sends the cookie with any request to the
gateway, so with the cookie an unsafe method (POST, PUT, PATCH, DELETE) must also carry the
session's CSRF token in ``X-CSRF-Token``, which only the console's own page has read. The live
stream takes the cookie only from a page of the gateway's own origin.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request, WebSocket, status
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from gateway.store.records import SessionRecord
from rules.directory import Directory

log = logging.getLogger("isogate.api.auth")

# Roles bound to their own households: the site file names them on each household.
SCOPED_ROLES = ("officer", "doctor", "technician")
STAFF_ROLES = ("watcher", "supervisor", *SCOPED_ROLES)
ROLES = ("admin", *STAFF_ROLES)
# Who reads what the intake refused and the devices nobody bound, and binds them.
INTAKE_ROLES = ("technician", "supervisor", "admin")

SESSION_COOKIE = "isogate_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_bearer = HTTPBearer(auto_error=False, description="a token of `isogate user add`")
_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    description="the console's session (POST /api/v1/session); unsafe methods need X-CSRF-Token",
)


@dataclass(frozen=True, slots=True)
class User:
    """Who is calling. ``name`` is a staff id of the site file for staff users.

    ``via`` is how the request arrived: ``rest`` (bearer token), ``console`` (session cookie)
    or ``link`` (a signed link in a message); it goes into the alert history and the audit log.
    """

    name: str
    role: str
    via: str = "rest"

    def households(self, directory: Directory) -> set[str] | None:
        """The households this user may see; None means all of them.

        Officers, doctors and technicians see the households the site assigns to them; a watcher
        those of every shift of theirs (a shift over ``all`` households: all); a supervisor or
        admin all. Any other role sees none.
        """
        if self.role in ("supervisor", "admin"):
            return None
        if self.role in SCOPED_ROLES:
            return {
                h.id for h in directory.households.values() if getattr(h, self.role) == self.name
            }
        if self.role == "watcher":
            seen: set[str] = set()
            for shift in directory.shifts:
                if shift.watcher != self.name:
                    continue
                if shift.households == "all":
                    return None
                seen.update(shift.households)
            return seen & set(directory.households)
        return set()

    def may_see(self, household_id: str, directory: Directory) -> bool:
        """Whether this user may see one household."""
        allowed = self.households(directory)
        return allowed is None or household_id in allowed


def require_role(user: User, roles: tuple[str, ...], what: str) -> None:
    """403 unless the user has one of ``roles``; ``what`` names the thing refused."""
    if user.role not in roles:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"{what}: only {', '.join(roles)} (not {user.role})"
        )


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def session_of(conn: HTTPConnection) -> SessionRecord | None:
    """The live console session whose id the connection's cookie holds; None without one."""
    sid = conn.cookies.get(SESSION_COOKIE)
    if not sid:
        return None
    ctx: Any = conn.app.state.ctx
    found: SessionRecord | None = await ctx.store.session_by_id(sid, ctx.now())
    return found


async def current_user(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> User:
    """The user of the request's bearer token or session cookie.

    Raises:
        HTTPException: 401 without a valid token or live session; 403 for an unsafe method
            with the cookie but without its CSRF token.
    """
    ctx: Any = request.app.state.ctx
    if creds is not None and creds.credentials:
        found = await ctx.store.user_by_token(creds.credentials)
        if found is None:
            raise _unauthorized("invalid token")
        return User(found[0], found[1], "rest")
    if not cookie:
        raise _unauthorized("missing bearer token or session")
    session = await session_of(request)
    if session is None:
        raise _unauthorized("the session has ended or expired; log in again")
    if request.method not in SAFE_METHODS:
        check_csrf(request, session)
    return User(session.user_name, session.role, "console")


def check_csrf(request: Request, session: SessionRecord) -> None:
    """403 unless the request carries the session's CSRF token in ``X-CSRF-Token``."""
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"missing or wrong {CSRF_HEADER}")


def same_origin(origin: str | None, host: str | None, public_url: str | None = None) -> bool:
    """Whether a browser's ``Origin`` is the gateway's own: its Host, or its public URL."""
    if not origin:
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    if host and parts.netloc.lower() == host.lower():
        return True
    if public_url:
        public = urlsplit(public_url)
        return (parts.scheme, parts.netloc.lower()) == (public.scheme, public.netloc.lower())
    return False


async def websocket_user(ws: WebSocket) -> User | None:
    """The user of a WebSocket: its bearer header, or its session cookie from a page of the
    gateway's own origin; None otherwise. No token is ever taken from the URL."""
    ctx: Any = ws.app.state.ctx
    header = ws.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        found = await ctx.store.user_by_token(token.strip())
        return User(found[0], found[1], "rest") if found else None
    if not ws.cookies.get(SESSION_COOKIE):
        return None
    origin = ws.headers.get("origin")
    if not same_origin(origin, ws.headers.get("host"), ctx.public_url):
        # A page of another site cannot ride on the console's cookie (cross-site WebSocket).
        log.warning("stream refused: session cookie from foreign origin %r", origin)
        return None
    session = await session_of(ws)
    return User(session.user_name, session.role, "console") if session else None


LINK_USER = User("link", "link", "link")
"""Whoever holds a signed link of a message: it opens that one path, nothing else."""


async def signed_or_user(
    request: Request,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    cookie: Annotated[str | None, Depends(_cookie)],
) -> User:
    """A request with ``?exp=&sig=`` is let in by the link's signature alone (403 when it is
    tampered with or expired), as :data:`LINK_USER`; any other needs a user."""
    params = request.query_params
    if "sig" not in params and "exp" not in params:
        return await current_user(request, creds, cookie)
    ctx: Any = request.app.state.ctx
    links = ctx.links
    if links is None or not links.verify(
        request.url.path, params.get("exp"), params.get("sig"), ctx.now().timestamp()
    ):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the link is not valid or has expired")
    return LINK_USER
