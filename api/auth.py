"""Bearer tokens of ``isogate user add`` and what each role may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, WebSocket, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rules.directory import Directory

# Roles bound to their own households: the site file names them on each household.
SCOPED_ROLES = ("officer", "doctor", "technician")
ROLES = ("admin", "supervisor", "watcher", *SCOPED_ROLES)

_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True, slots=True)
class User:
    """Who is calling. ``name`` is a staff id of the site file for staff users."""

    name: str
    role: str

    def households(self, directory: Directory) -> set[str] | None:
        """The households this user may see; None means all of them."""
        if self.role not in SCOPED_ROLES:
            return None
        return {h.id for h in directory.households.values() if getattr(h, self.role) == self.name}

    def may_see(self, household_id: str, directory: Directory) -> bool:
        """Whether this user may see one household."""
        allowed = self.households(directory)
        return allowed is None or household_id in allowed


async def current_user(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    """The user of a request's bearer token; 401 without a valid one."""
    if creds is None or not creds.credentials:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    found = await request.app.state.ctx.store.user_by_token(creds.credentials)
    if found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid token", headers={"WWW-Authenticate": "Bearer"}
        )
    return User(*found)


async def websocket_user(ws: WebSocket) -> User | None:
    """The user of a WebSocket's bearer header or ``?token=``; None without a valid one."""
    header = ws.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip() or ws.query_params.get("token", "")
    found = await ws.app.state.ctx.store.user_by_token(token) if token else None
    return User(*found) if found else None
