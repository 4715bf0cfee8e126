"""The console as people see it: Chinese by default, English on a switch the browser remembers,
a duty monitor of 1366×768 and a phone. The screenshots are kept in test-artifacts/ to look at."""

from __future__ import annotations

import asyncio

from playwright.async_api import expect

from simulators.ble import BleThermometer
from tests.browser.conftest import PHONE, OpenConsole, add_user, alert_of, open_door
from tests.conftest import Harness


async def _a_busy_night(h: Harness) -> None:
    """A breach at h1, a fever and a normal reading at h1's thermometer, a breach at h2."""
    await open_door(h, "h1")
    await alert_of(h, "h1")
    with h.link() as link:
        therm = BleThermometer(link, mac="A4:C1:38:00:00:01", omg_base=h.settings.omg_base_topic)
        await asyncio.to_thread(therm.reading, 36.6)
        await asyncio.to_thread(therm.reading, 38.4)
    await alert_of(h, "h1", "fever")
    await open_door(h, "h2")
    await alert_of(h, "h2")


async def test_the_console_in_chinese_and_english_at_1366x768_and_on_a_phone(
    gateway: Harness, open_console: OpenConsole
):
    """Chinese first; the switch turns every label English and is remembered after a reload
    (the language alone is stored); the views fit a duty monitor and a phone."""
    await _a_busy_night(gateway)
    token = await add_user(gateway, "w1", "watcher")
    console = await open_console(token)
    page = console.page
    await expect(page.locator("#alert-list li.alert")).to_have_count(3)
    await expect(page.locator("[data-tab=alerts]")).to_have_text("告警")
    await page.locator("#alert-list li.alert").first.click()
    await expect(page.locator("#alert-detail h2")).to_have_text("非授权开门")
    await console.screenshot("console-alerts-zh-1366x768")
    # Nothing runs out of the window sideways at 1366 px.
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1366

    await page.click("[data-tab=households]")
    await expect(page.locator(".tile")).to_have_count(2)
    await console.screenshot("console-households-zh-1366x768")
    await page.click(".tile[data-household='h1']")
    await expect(page.locator("svg.chart circle")).to_have_count(2)
    await console.screenshot("console-household-h1-zh-1366x768")

    await page.click(".top-status .lang-switch")
    await expect(page.locator("[data-tab=alerts]")).to_have_text("Alerts")
    await expect(page.locator("[data-tab=households]")).to_have_text("Households")
    await console.screenshot("console-household-h1-en-1366x768")
    await page.reload()
    await expect(page.locator("[data-tab=alerts]")).to_have_text("Alerts")
    assert await page.evaluate("Object.keys(localStorage)") == ["isogate.lang"]
    await page.click("[data-tab=alerts]")
    await page.locator("#alert-list li.alert").first.click()
    await expect(page.locator("#alert-detail h2")).to_have_text("Door breach")
    await console.screenshot("console-alerts-en-1366x768")

    phone = await open_console(token, viewport=PHONE)
    await expect(phone.page.locator("#alert-list li.alert")).to_have_count(3)
    await expect(phone.page.locator("#critical-banner")).to_be_visible()
    assert await phone.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    await phone.screenshot("console-alerts-phone")
    assert phone.errors == []

    await page.click("[data-tab=roster]")
    await expect(page.locator("#roster")).to_contain_text("On duty now")
    await console.screenshot("console-roster-en-1366x768")
    await page.click("[data-tab=tech]")
    await expect(page.locator("#commission-household")).to_be_visible()
    await page.select_option("#commission-household", "h1")
    await expect(page.locator("#commission tbody tr").first).to_be_visible()
    await console.screenshot("console-devices-en-1366x768")
    assert console.errors == []
