"""`isogate user add | list | revoke` as an operator uses them: staff checked against the site,
a table without tokens, revocation that ends tokens and sessions, every change audited."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import yaml

from gateway.store import Store
from gateway.store.records import AuditEntry, SessionRecord
from tests.conftest import isogate_cli, site_doc

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _db(data: Path) -> str:
    return f"sqlite+aiosqlite:///{data / 'isogate.db'}"


def _loaded(tmp_path: Path) -> Path:
    """A data dir with the test community loaded."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump(site_doc(), allow_unicode=True))
    out = isogate_cli("load", str(site), data=tmp_path)
    assert out.returncode == 0, out.stderr
    return tmp_path


def _add(data: Path, name: str, role: str) -> str:
    out = isogate_cli("user", "add", name, "--role", role, data=data)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_a_staff_user_must_be_that_staff_member_of_the_site(tmp_path: Path):
    """An unknown id or another role than the site's is refused (exit 1, a clear line); an
    admin needs no staff entry; without a site a staff user is refused."""
    bare = tmp_path / "bare"
    out = isogate_cli("user", "add", "p1", "--role", "officer", data=bare)
    assert out.returncode == 1 and "no site is loaded" in out.stderr, out.stderr
    data = _loaded(tmp_path / "site")
    out = isogate_cli("user", "add", "p9", "--role", "officer", data=data)
    assert out.returncode == 1, out.stderr
    assert "p9 is not a staff id of the site; officers there: p1, p2" in out.stderr
    out = isogate_cli("user", "add", "w1", "--role", "officer", data=data)
    assert out.returncode == 1 and "w1 is a watcher in the site, not a officer" in out.stderr
    assert out.stdout == ""
    _add(data, "w1", "watcher")
    _add(data, "root", "admin")
    _add(bare, "root", "admin")


def test_user_list_shows_users_and_sessions_but_never_a_token(tmp_path: Path):
    """One row per token with role, created, revoked and live sessions; no token text."""
    data = _loaded(tmp_path)
    tokens = [_add(data, "p1", "officer"), _add(data, "w1", "watcher")]

    async def log_in() -> None:
        async with Store.open(_db(data)) as store:
            now = datetime.now(UTC)
            session = SessionRecord("a" * 64, "w1", "watcher", "c", now, now.replace(year=2099))
            await store.create_session(session)

    asyncio.run(log_in())
    out = isogate_cli("user", "list", data=data)
    assert out.returncode == 0, out.stderr
    rows = [line for line in out.stdout.splitlines() if "│" in line and "name" not in line]
    cells = [[c.strip() for c in row.strip("│ ").split("│")] for row in rows]
    assert [(c[0], c[1], c[3], c[4]) for c in cells] == [
        ("p1", "officer", "", "0"),
        ("w1", "watcher", "", "1"),
    ]
    assert not any(token in out.stdout for token in tokens)


def test_user_revoke_ends_every_token_and_session_and_is_audited(tmp_path: Path):
    """After `user revoke p1` both of p1's tokens and its session are dead; revoking again is
    exit 1; add and revoke are in the audit log via cli."""
    data = _loaded(tmp_path)
    tokens = [_add(data, "p1", "officer"), _add(data, "p1", "officer")]

    async def session() -> None:
        async with Store.open(_db(data)) as store:
            await store.create_session(
                SessionRecord("b" * 64, "p1", "officer", "c", T0, T0.replace(year=2099))
            )

    asyncio.run(session())
    out = isogate_cli("user", "revoke", "p1", data=data)
    assert out.returncode == 0, out.stderr
    assert "p1: 2 token(s) revoked" in out.stderr
    again = isogate_cli("user", "revoke", "p1", data=data)
    assert again.returncode == 1 and "no live token" in again.stderr

    async def after() -> tuple[list[object], list[AuditEntry], int]:
        async with Store.open(_db(data)) as store:
            found = [await store.user_by_token(t) for t in tokens]
            audit = await store.list_audit()
            users = await store.list_users(T0)
            return found, audit, sum(u.active_sessions for u in users)

    found, audit, live = asyncio.run(after())
    assert found == [None, None] and live == 0
    assert [(e.action, e.target, e.via, e.role) for e in reversed(audit)] == [
        ("user_add", "p1", "cli", "cli"),
        ("user_add", "p1", "cli", "cli"),
        ("user_revoke", "p1", "cli", "cli"),
    ]
