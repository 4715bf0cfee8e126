"""Who sees what at the console: an officer only their households, live too; hostile text stays
text; the incoming watcher accepts the handover by name."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from gateway.store import Store
from tests.browser.conftest import (
    DESKTOP,
    WHERE,
    OpenConsole,
    add_user,
    alert_of,
    base_url,
    open_door,
    screenshot,
)
from tests.conftest import (
    BrokerUnderTest,
    Harness,
    advance,
    at_local,
    fake_time_gateway,
    site_doc,
)

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
HOSTILE_NAME = '<b>张三</b><img src=x onerror="window.__pwned=3">'  # names are at most 64


async def test_an_officer_gets_403_on_another_officers_household_and_sees_nothing_of_it_live(
    gateway: Harness, open_console: OpenConsole
):
    """p1 (officer of h1) is refused h2's page; a breach at h2 never reaches p1's queue, while
    one at h1, published after it, does. Logging out ends the session."""
    console = await open_console(await add_user(gateway, "p1", "officer"))
    page = console.page
    status = await page.evaluate("fetch('/api/v1/households/h2').then(r => r.status)")
    assert status == 403
    await page.goto(base_url(gateway) + "/#/household/h2")
    await expect(page.locator("#household-error")).to_have_attribute("data-status", "403")
    await expect(page.locator("#household-error")).to_contain_text("无权查看")

    await page.goto(base_url(gateway) + "/#/alerts")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await open_door(gateway, "h2")
    await alert_of(gateway, "h2")
    await open_door(gateway, "h1")  # the sentinel: p1's own household, published after
    await expect(console.card("h1")).to_be_visible(timeout=2000)
    await expect(page.locator("#alert-list li.alert")).to_have_count(1)
    await expect(page.locator("body")).not_to_contain_text("幸福小区3栋2单元502")

    await page.click("#logout")
    await expect(page.locator("#login-message")).to_have_text("已退出。")
    assert await page.evaluate("fetch('/api/v1/session').then(r => r.status)") == 401


@pytest.fixture
def hostile_site() -> dict[str, object]:
    """The test site with markup and script in h1's address and resident's name."""
    doc = site_doc(door_debounce_s=0)
    h1 = doc["households"][0]
    h1["address"] = f"幸福小区{HOSTILE}"
    h1["residents"][0]["name"] = HOSTILE_NAME
    return doc


async def test_hostile_text_in_an_address_a_name_and_a_note_shows_as_text(
    tmp_path: Path,
    broker: BrokerUnderTest,
    browser: Browser,
    hostile_site: dict[str, object],
):
    """An address, a resident's name and a note holding <script> and <img onerror> are shown
    as the characters they are, in the queue, the grid and the household page; nothing runs."""
    start = at_local("2026-11-23 03:00")
    async with fake_time_gateway(tmp_path, broker, start, hostile_site) as (h, _clock):
        token = await add_user(h, "w1", "watcher")
        context = await browser.new_context(viewport=DESKTOP, **WHERE)  # type: ignore[arg-type]
        page = await context.new_page()
        await page.goto(base_url(h) + "/")
        await page.fill("input[name=token]", token)
        await page.click("#login button[type=submit]")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await open_door(h, "h1")
        card = page.locator("#alert-list li.alert[data-household='h1']")
        await expect(card).to_contain_text(HOSTILE)
        await card.click()
        await expect(page.locator(".detail-address")).to_have_text(f"幸福小区{HOSTILE}")
        await page.click("#ack")
        await expect(card).to_have_attribute("data-status", "acknowledged")
        await page.fill("#resolve-note", HOSTILE)
        await page.click("#resolve")
        await expect(card).to_have_count(0)

        await page.goto(base_url(h) + "/#/households")
        await expect(page.locator(".tile[data-household='h1']")).to_contain_text(HOSTILE)
        await page.goto(base_url(h) + "/#/household/h1")
        await expect(page.locator("#household-address")).to_have_text(f"幸福小区{HOSTILE}")
        await expect(page.locator(".household-facts")).to_contain_text(HOSTILE_NAME)

        assert await page.evaluate("window.__pwned") is None
        assert await page.locator("img[src=x], script:not([src]), b").count() == 0
        await context.close()


async def test_the_incoming_watcher_accepts_the_handover_by_name(
    tmp_path: Path, broker: BrokerUnderTest, browser: Browser
):
    """At 08:00 w1 hands over to w2 with h2's breach open; w2 sees it on the roster page,
    accepts, and the acceptance is recorded with w2's name."""
    start = at_local("2026-11-23 07:58")
    async with fake_time_gateway(tmp_path, broker, start) as (h, clock):
        await open_door(h, "h2")
        await alert_of(h, "h2")
        for _ in range(4):  # past 08:00, a tick at a time
            await advance(clock, 40)
        token = await add_user(h, "w2", "watcher")
        admin = {"Authorization": f"Bearer {h.token}"}
        async with httpx.AsyncClient(base_url=base_url(h), headers=admin) as api:
            for _ in range(100):
                handover = await api.get("/api/v1/handover")
                if handover.status_code == 200:
                    break
                await asyncio.sleep(0.05)
            assert handover.status_code == 200, handover.text
            assert "w2" in handover.json()["to"]

            context = await browser.new_context(viewport=DESKTOP, **WHERE)  # type: ignore[arg-type]
            page = await context.new_page()
            await page.goto(base_url(h) + "/")
            await page.fill("input[name=token]", token)
            await page.click("#login button[type=submit]")
            await page.goto(base_url(h) + "/#/roster")
            panel = page.locator("#handover")
            await expect(panel).to_contain_text("幸福小区3栋2单元502")
            await page.click("#accept-handover")
            await expect(page.locator("#handover-accepted")).to_contain_text("刘芳 (w2)")
            await expect(page.locator("#accept-handover")).to_have_count(0)
            await screenshot(page, tmp_path, "console-handover-accepted-zh-1366x768")

            accepted = (await api.get("/api/v1/handover")).json()["accepted"]
            assert [a["by"] for a in accepted] == ["w2"]
            await context.close()


async def test_a_revoked_or_expired_session_returns_to_the_login_with_a_message(
    gateway: Harness, open_console: OpenConsole
):
    """The session ends under an open console (the user is revoked): the next request brings
    the login back with a message, and the token is nowhere in the page's storage."""
    token = await add_user(gateway, "w1", "watcher")
    console = await open_console(token)
    page = console.page
    assert await page.evaluate("Object.keys(localStorage)") in ([], ["isogate.lang"])
    assert await page.evaluate("document.cookie") == ""  # HttpOnly: no script reads it
    async with Store.open(gateway.settings.db_url) as store:
        await store.revoke_user("w1", gateway.running.pipeline.clock.now())
    await page.evaluate("location.hash = '#/household/h1'")  # a page that asks the API
    await expect(page.locator("#login-screen")).to_be_visible()
    await expect(page.locator("#login-message")).to_contain_text("会话已过期")
    await expect(page.locator("#token")).to_have_value("")
    await page.reload()  # and the cookie opens nothing any more
    await expect(page.locator("#login-screen")).to_be_visible()
