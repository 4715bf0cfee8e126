"""The 日报 view: today's report of the households in scope, another day by the date picker, and
the CSV the link downloads."""

from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import PHONE, OpenConsole, add_user, alert_of, open_door
from tests.conftest import Harness


async def test_the_supervisor_reads_todays_report_and_downloads_its_csv(
    gateway: Harness, open_console: OpenConsole
):
    """h2's door opened today: its row counts the breach as open, the totals row too; the CSV
    link gives the same rows for Excel; yesterday is one pick away."""
    await open_door(gateway, "h2")
    await alert_of(gateway, "h2")
    console = await open_console(await add_user(gateway, "s1", "supervisor"))
    page = console.page
    await page.click("[data-tab=daily]")
    table = page.locator("#daily-table")
    await expect(table).to_be_visible()
    h2 = table.locator("tr[data-household=h2]")
    await expect(h2).to_contain_text("幸福小区3栋2单元502")
    await expect(h2).to_contain_text("未处理")
    await expect(table.locator("tr[data-household=h1]")).to_be_visible()
    total = table.locator("tr.total")
    await expect(total).to_contain_text("2 户")
    await expect(total).to_contain_text("未处理 1")
    await console.screenshot("console-daily-zh-1366x768")

    async with page.expect_download() as waiting:
        await page.click("#daily-csv")
    download = await waiting.value
    data = (await download.path()).read_bytes()
    assert data.startswith("\ufeff".encode())
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("社区,户号,地址,测温次数")
    assert [line.split(",")[1] for line in lines[1:]] == ["h1", "h2", "合计"]

    today = await page.input_value("#daily-date")
    await page.fill("#daily-date", "2026-11-20")
    await expect(page).to_have_url(f"{page.url.split('#')[0]}#/daily/2026-11-20")
    await expect(page.locator("#daily-date")).to_have_value("2026-11-20")
    await expect(table.locator("tr[data-household=h2]")).not_to_contain_text("未处理")
    assert today > "2026-11-20"
    await page.click(".topbar .lang-switch")
    await expect(page.locator("#daily h2")).to_have_text("Daily report")
    await console.screenshot("console-daily-en-1366x768")
    assert console.errors == []


async def test_an_officer_sees_only_the_rows_of_their_households_on_a_phone(
    gateway: Harness, open_console: OpenConsole
):
    """p1 has h1 only: one row and a total of one household."""
    console = await open_console(await add_user(gateway, "p1", "officer"), viewport=PHONE)
    page = console.page
    await page.goto(page.url.split("#")[0] + "#/daily")
    table = page.locator("#daily-table")
    await expect(table.locator("tr[data-household=h1]")).to_be_visible()
    await expect(table.locator("tr[data-household=h2]")).to_have_count(0)
    await expect(table.locator("tr.total")).to_contain_text("1 户")
    await console.screenshot("console-daily-phone-390x844")
    assert console.errors == []
