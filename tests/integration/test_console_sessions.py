"""Console login over the running gateway: a token exchanged for a session cookie that is
HttpOnly and SameSite=Strict, CSRF on every change, expiry, logout, revocation, failed logins
slowed down, and the live stream only from the gateway's own pages."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import websockets

from tests.conftest import BrokerUnderTest, advance
from tests.integration.access_support import access_gateway, api, breach, login, token_for


async def test_a_watcher_logs_in_and_the_cookie_is_the_session_not_the_token(
    tmp_path: Path, broker: BrokerUnderTest
):
    """POST /session sets an HttpOnly SameSite=Strict cookie; GET /session and routes take it."""
    async with access_gateway(tmp_path, broker) as (h, _clock):
        token = await token_for(h, "w1", "watcher")
        async with api(h) as console:
            r = await console.post("/api/v1/session", json={"token": token})
            assert r.status_code == 200, r.text
            body = r.json()
            assert (body["name"], body["role"]) == ("w1", "watcher")
            assert body["expires_at"].startswith("2026-11-23T15:00:00")  # 12 h after 03:00
            cookie = r.headers["set-cookie"]
            for attribute in ("isogate_session=", "HttpOnly", "SameSite=strict", "Path=/"):
                assert attribute.lower() in cookie.lower(), cookie
            session_id = console.cookies["isogate_session"]
            assert token not in cookie and session_id not in body.values()
            again = await console.get("/api/v1/session")
            assert again.json() == body
            assert (await console.get("/api/v1/households")).status_code == 200
        # The database holds neither the token nor the session id in clear.
        db = await asyncio.to_thread(Path(h.settings.db_url.split(":///", 1)[1]).read_bytes)
        assert token.encode() not in db and session_id.encode() not in db
        async with api(h) as stranger:
            assert (await stranger.get("/api/v1/session")).status_code == 401
            assert (await stranger.get("/api/v1/households")).status_code == 401


async def test_a_form_login_works_and_a_wrong_token_is_401(tmp_path: Path, broker: BrokerUnderTest):
    """The login form posts ``token=`` form-encoded; a wrong token is 401 and sets no cookie;
    a login posted from another site's page is 403."""
    async with access_gateway(tmp_path, broker) as (h, _clock):
        token = await token_for(h, "p1", "officer")
        async with api(h) as console:
            wrong = await console.post("/api/v1/session", data={"token": "not-a-token"})
            assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
            r = await console.post("/api/v1/session", data={"token": token})
            assert r.status_code == 200 and r.json()["name"] == "p1"
            # Another site's page cannot log a browser in (login CSRF).
            foreign = {"Origin": "http://evil.example"}
            r = await console.post("/api/v1/session", data={"token": token}, headers=foreign)
            assert r.status_code == 403 and "set-cookie" not in r.headers


async def test_a_cookie_request_that_changes_something_needs_the_csrf_token(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Ack with the cookie alone is 403; with X-CSRF-Token it works and the history says
    console; a bearer request needs no CSRF token and says rest."""
    async with access_gateway(tmp_path, broker) as (h, _clock):
        token = await token_for(h, "w1", "watcher")
        alert = await breach(h, "h1")
        ack = f"/api/v1/alerts/{alert['id']}/ack"
        async with api(h) as console:
            session = await login(console, token)
            assert (await console.post(ack)).status_code == 403
            assert (await console.post(ack, headers={"X-CSRF-Token": "guess"})).status_code == 403
            done = await console.post(ack, headers={"X-CSRF-Token": session["csrf"]})
            assert done.status_code == 200, done.text
            assert done.json()["acked_by"] == "w1"
        other = await breach(h, "h2")
        async with api(h, token) as tool:
            r = await tool.post(f"/api/v1/alerts/{other['id']}/ack")
            assert r.status_code == 200, r.text
            history = (await tool.get(f"/api/v1/alerts/{alert['id']}")).json()["history"]
            assert [(x["action"], x["by"], x["via"]) for x in history][-1] == (
                "acknowledged",
                "w1",
                "console",
            )
            history = (await tool.get(f"/api/v1/alerts/{other['id']}")).json()["history"]
            assert history[-1]["via"] == "rest"


async def test_logout_ends_the_session_and_needs_the_csrf_token(
    tmp_path: Path, broker: BrokerUnderTest
):
    """DELETE /session without CSRF is 403; with it 204, the cookie cleared, the id dead."""
    async with access_gateway(tmp_path, broker) as (h, _clock):
        token = await token_for(h, "w1", "watcher")
        async with api(h) as console:
            session = await login(console, token)
            session_id = console.cookies["isogate_session"]
            assert (await console.delete("/api/v1/session")).status_code == 403
            out = await console.delete("/api/v1/session", headers={"X-CSRF-Token": session["csrf"]})
            assert out.status_code == 204
            assert (
                'isogate_session=""' in out.headers["set-cookie"]
                or "Max-Age=0" in (out.headers["set-cookie"])
            )
        async with api(h) as replay:
            replay.cookies.set("isogate_session", session_id)
            assert (await replay.get("/api/v1/session")).status_code == 401
            assert (await replay.get("/api/v1/households")).status_code == 401


async def test_a_session_expires_after_session_hours(tmp_path: Path, broker: BrokerUnderTest):
    """Twelve hours after login the cookie no longer works; a minute before, it does."""
    async with access_gateway(tmp_path, broker) as (h, clock):
        token = await token_for(h, "w1", "watcher")
        async with api(h) as console:
            await login(console, token)
            await advance(clock, 12 * 3600 - 60)
            assert (await console.get("/api/v1/households")).status_code == 200
            await advance(clock, 61)
            assert (await console.get("/api/v1/households")).status_code == 401
            assert (await console.get("/api/v1/session")).status_code == 401


async def test_revoking_a_user_ends_their_tokens_and_sessions(
    tmp_path: Path, broker: BrokerUnderTest
):
    """After revoke_user, the bearer token and the console session are both 401; a new
    token for the same name works again."""
    async with access_gateway(tmp_path, broker) as (h, clock):
        token = await token_for(h, "p1", "officer")
        async with api(h) as console, api(h, token) as tool:
            await login(console, token)
            assert (await tool.get("/api/v1/households")).status_code == 200
            assert await h.running.store.revoke_user("p1", clock.now()) == 1
            assert (await tool.get("/api/v1/households")).status_code == 401
            assert (await console.get("/api/v1/households")).status_code == 401
            relogin = await console.post("/api/v1/session", json={"token": token})
            assert relogin.status_code == 401
        fresh = await token_for(h, "p1", "officer")
        async with api(h, fresh) as tool:
            assert (await tool.get("/api/v1/households")).status_code == 200
        users = {
            (u.name, u.revoked_at is not None)
            for u in await h.running.store.list_users(clock.now())
        }
        assert users >= {("p1", True), ("p1", False)}


async def test_failed_logins_are_slowed_down_then_refused_with_retry_after(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Three wrong tokens cost nothing; each further one makes the address wait longer (429
    with Retry-After, even for the right token) until the wait is over; all are audited."""
    async with access_gateway(tmp_path, broker) as (h, clock):
        token = await token_for(h, "w1", "watcher")
        async with api(h) as attacker:
            for _ in range(4):
                r = await attacker.post("/api/v1/session", json={"token": "guess"})
                assert r.status_code == 401
            refused = await attacker.post("/api/v1/session", json={"token": token})
            assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
            await advance(clock, 1)
            assert (
                await attacker.post("/api/v1/session", json={"token": "guess"})
            ).status_code == 401
            refused = await attacker.post("/api/v1/session", json={"token": "guess"})
            assert refused.status_code == 429 and refused.headers["retry-after"] == "2"
            await advance(clock, 2)
            assert (
                await attacker.post("/api/v1/session", json={"token": token})
            ).status_code == 200
        failed = await h.running.store.list_audit(action="login_failed")
        assert len(failed) == 5
        assert all(e.via == "console" and "from 127.0.0.1" in (e.detail or "") for e in failed)
        [ok] = await h.running.store.list_audit(action="login")
        assert (ok.actor, ok.role) == ("w1", "watcher")


async def test_the_stream_takes_the_cookie_only_from_the_gateways_own_origin(
    tmp_path: Path, broker: BrokerUnderTest
):
    """With the session cookie, a page of the gateway gets the stream; another site's page,
    or no Origin, is refused; a bearer header still works for tools."""
    async with access_gateway(tmp_path, broker) as (h, _clock):
        token = await token_for(h, "w2", "watcher")
        port = h.running.http_port
        url = f"ws://127.0.0.1:{port}/api/v1/stream"
        async with api(h) as console:
            await login(console, token)
            cookie = {"Cookie": f"isogate_session={console.cookies['isogate_session']}"}
        for origin in ("http://evil.example", None):
            with pytest.raises(websockets.InvalidStatus):
                async with websockets.connect(url, origin=origin, additional_headers=cookie):  # type: ignore[arg-type]
                    pass
        own = f"http://127.0.0.1:{port}"
        async with websockets.connect(url, origin=own, additional_headers=cookie) as ws:  # type: ignore[arg-type]
            alert = await breach(h, "h1")
            while True:
                item = json.loads(await ws.recv())
                if item["kind"] == "alert":
                    break
            assert item["alert"]["id"] == alert["id"]
