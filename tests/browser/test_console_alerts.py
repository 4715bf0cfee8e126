"""The watcher at the console: a breach arrives live and rings until acknowledged, the plan's
steps are ticked, resolving needs a note, and a cut stream catches up on what it missed."""

from __future__ import annotations

import time

import httpx
from playwright.async_api import expect

from tests.browser.conftest import OpenConsole, add_user, alert_of, base_url, open_door
from tests.conftest import Harness

BEEP_EVERY_S = 2.5  # the console's alarm interval (api/static/js/alarm.js)


async def test_watcher_sees_a_breach_live_hears_it_until_acknowledged_and_resolves_with_a_note(
    gateway: Harness, open_console: OpenConsole
):
    """A breach over MQTT shows within 2 s and beeps again and again; ack silences it and drops
    the count; a plan step is recorded; resolve is refused without a note and works with one."""
    console = await open_console(await add_user(gateway, "w1", "watcher"))
    page = console.page
    await expect(page.locator("#unacked")).to_have_attribute("data-count", "0")
    assert await console.beeps() == 0

    started = time.monotonic()
    await open_door(gateway, "h1")
    await expect(console.card("h1")).to_be_visible(timeout=2000)
    assert time.monotonic() - started < 2.0
    await expect(page.locator("#unacked")).to_have_attribute("data-count", "1")
    await expect(page.locator("#critical-banner")).to_be_visible()
    await expect(console.card("h1")).to_contain_text("幸福小区3栋2单元501")

    # The alarm repeats while nobody acknowledges.
    await page.wait_for_function(
        "() => Number(document.body.dataset.alarmBeeps) >= 3", timeout=10000
    )

    await console.card("h1").click()
    await page.click("#ack")
    await expect(page.locator("#unacked")).to_have_attribute("data-count", "0")
    await expect(page.locator("#critical-banner")).to_be_hidden()
    await expect(console.card("h1")).to_have_attribute("data-status", "acknowledged")
    assert not await page.evaluate("window.isogateConsole.alarm.ringing")
    silent_from = await console.beeps()
    # Longer than one interval: a beep still scheduled would have played by now.
    await page.wait_for_timeout(BEEP_EVERY_S * 1000 * 1.5)
    assert await console.beeps() == silent_from

    # The response plan: the first step ticked is recorded with the alert.
    step = page.locator("#alert-detail input[name=step]").first
    name = await step.get_attribute("value")
    await step.check()
    await expect(step).to_be_disabled()
    await expect(step).to_be_checked()

    # Resolving without a note is refused, in the page; the alert stays.
    await page.click("#resolve")
    await expect(page.locator("#alert-error")).to_contain_text("必须填写")
    await expect(console.card("h1")).to_be_visible()
    await page.fill("#resolve-note", "已电话联系民警，住户取快递后已回屋")
    await page.click("#resolve")
    await expect(console.card("h1")).to_have_count(0)

    headers = {"Authorization": f"Bearer {gateway.token}"}
    async with httpx.AsyncClient(base_url=base_url(gateway), headers=headers) as api:
        [alert] = (await api.get("/api/v1/alerts", params={"household": "h1"})).json()
    assert alert["status"] == "resolved"
    assert alert["acked_by"] == "w1" and alert["resolved_by"] == "w1"
    assert alert["note"] == "已电话联系民警，住户取快递后已回屋"
    assert [s["step"] for s in alert["steps"]] == [name]
    assert console.errors == []


BLOCK_STREAM = """() => {
  window.__RealWebSocket = window.__RealWebSocket || window.WebSocket;
  window.WebSocket = class extends window.__RealWebSocket {
    constructor(url, protocols) { super("ws://127.0.0.1:9/blocked", protocols); }
  };
  window.isogateConsole.cutStream();
}"""
UNBLOCK_STREAM = "() => { window.WebSocket = window.__RealWebSocket; }"


async def test_a_cut_stream_comes_back_by_itself_with_the_alert_raised_meanwhile(
    gateway: Harness, open_console: OpenConsole
):
    """While the stream is cut the indicator says so; a breach raised then appears once it is
    restored, without a reload."""
    console = await open_console(await add_user(gateway, "w1", "watcher"))
    page = console.page
    await page.evaluate(BLOCK_STREAM)
    await expect(page.locator("#conn")).not_to_have_attribute("data-state", "live")

    await open_door(gateway, "h2")
    await alert_of(gateway, "h2")  # raised and published while the console is cut off
    await expect(console.card("h2")).to_have_count(0)

    await page.evaluate(UNBLOCK_STREAM)
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=15000)
    await expect(console.card("h2")).to_be_visible(timeout=5000)
    await expect(page.locator("#unacked")).to_have_attribute("data-count", "1")
    assert not [e for e in console.errors if "blocked" not in e]
