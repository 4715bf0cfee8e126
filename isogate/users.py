"""``isogate user add | list | revoke``: API and console users, checked against the site.

A staff user's name is a staff id of the loaded site, with the role the site gives that person:
the name is what ties the user to the households assigned to them. ``admin`` is no staff
member. Every change is written to the audit log (``via=cli``) under the operator's login name.
"""

from __future__ import annotations

import getpass
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from rich.table import Table

from api.auth import ROLES
from gateway.site.stored import stored_site
from gateway.store import Store
from gateway.store.records import AuditEntry, UserRecord


class UserError(Exception):
    """A user command that cannot be done, and why (for the operator)."""


def operator() -> str:
    """Who runs the command, for the audit log."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"


async def add_user(store: Store, name: str, role: str, at: datetime) -> str:
    """Add a user and return its token (shown once; only its hash is kept).

    Raises:
        UserError: an unknown role; for a staff role, no site loaded, ``name`` not a staff id
            of the site, or the site giving that person another role.
    """
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if role != "admin":
        _, site = await stored_site(store)
        if site is None:
            raise UserError(
                f"no site is loaded: load the site file first (isogate load), then add {name}"
            )
        person = next((s for s in site.staff if s.id == name), None)
        if person is None:
            known = ", ".join(sorted(s.id for s in site.staff if s.role.value == role))
            raise UserError(
                f"{name} is not a staff id of the site; {role}s there: {known or 'none'}"
            )
        if person.role.value != role:
            raise UserError(f"{name} is a {person.role.value} in the site, not a {role}")
    token = secrets.token_urlsafe(24)
    await store.add_user(name, role, token, at)
    await store.append_audit(
        [AuditEntry(at, operator(), "cli", "user_add", "cli", target=name, detail=f"as {role}")]
    )
    return token


async def revoke_user(store: Store, name: str, at: datetime) -> int:
    """End every token and console session of ``name``; how many tokens were live.

    Raises:
        UserError: ``name`` holds no live token.
    """
    revoked = await store.revoke_user(name, at)
    if not revoked:
        raise UserError(f"{name} has no live token (unknown, or revoked already)")
    await store.append_audit(
        [
            AuditEntry(
                at,
                operator(),
                "cli",
                "user_revoke",
                "cli",
                target=name,
                detail=f"{revoked} token(s)",
            )
        ]
    )
    return revoked


def users_table(users: list[UserRecord], tz: ZoneInfo) -> Table:
    """The users as a table: one row per token issued, never the token itself."""
    table = Table("name", "role", "created", "revoked", "active sessions")

    def local(t: datetime | None) -> str:
        return "" if t is None else t.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    for u in users:
        table.add_row(
            u.name, u.role, local(u.created_at), local(u.revoked_at), str(u.active_sessions)
        )
    return table
