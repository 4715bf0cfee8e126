"""The resident's page in a phone's browser: opened by its URL, an opening announced, a symptom
ticked and sent, each confirmed on the page; no script error, no name on screen."""

from __future__ import annotations

from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from tests.browser.conftest import ARTIFACTS, PHONE, WHERE, screenshot
from tests.conftest import Harness


async def _page_url(h: Harness) -> str:
    base = f"http://127.0.0.1:{h.running.http_port}"
    auth = {"Authorization": f"Bearer {h.token}"}
    async with httpx.AsyncClient(base_url=base, headers=auth) as staff:
        got = await staff.get("/api/v1/households/h1/link")
    assert got.status_code == 200, got.text
    return str(got.json()["url"])


async def test_a_resident_announces_an_opening_and_ticks_a_symptom_on_a_phone(
    gateway: Harness, browser: Browser, tmp_path: Path
):
    """At 390×844: the page loads with 住户1 and the reasons; 倒垃圾 shows until when the door
    may open and one announcement less; 干咳 for 住户1 is confirmed and reaches the store."""
    context = await browser.new_context(viewport=PHONE, **WHERE)  # type: ignore[arg-type]
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    shots = tmp_path / "screenshots"
    try:
        await page.goto(await _page_url(gateway))
        await page.wait_for_selector("main[data-state=ready]", timeout=5000)
        await expect(page.locator("#remaining")).to_have_text("6")
        await expect(page.locator("form.resident legend")).to_have_text(["住户1"])
        await screenshot(page, shots, "resident-page-phone")

        await page.get_by_role("button", name="倒垃圾").click()
        result = page.locator("#open-result")
        await expect(result).to_contain_text("已报备「倒垃圾」")
        await expect(result).to_contain_text(r"前开门")
        await expect(page.locator("#remaining")).to_have_text("5")
        until = (await result.text_content() or "").split("请在 ")[1][:5]
        [window] = await gateway.running.store.household_windows("h1")
        local = window.end.astimezone(gateway.running.pipeline.directory.tz)
        assert until == local.strftime("%H:%M")
        await screenshot(page, shots, "resident-page-phone-announced")

        form = page.locator("form.resident[data-resident='1']")
        await form.get_by_label("干咳").check()
        await form.get_by_label("无症状").check()  # 无症状 clears the symptom …
        await expect(form.get_by_label("干咳")).not_to_be_checked()
        await form.get_by_label("干咳").check()  # … and a symptom clears 无症状
        await expect(form.get_by_label("无症状")).not_to_be_checked()
        await form.get_by_role("button", name="提交住户1的自查").click()
        await expect(form.locator(".result")).to_contain_text("已提交")
        await expect(form.locator(".result")).to_contain_text("干咳")
        await form.locator(".result").scroll_into_view_if_needed()
        await screenshot(page, shots, "resident-page-phone-done")
        await page.screenshot(path=str(ARTIFACTS / "resident-page-phone-full.png"), full_page=True)

        text = await page.locator("body").inner_text()
        for secret in ("张三", "幸福小区", "501"):
            assert secret not in text
        assert errors == []
    finally:
        await context.close()
    checks = await gateway.running.store.symptom_checks(since=window.start)
    assert [(c.resident_id, c.symptoms, c.via) for c in checks] == [("r1", ("dry_cough",), "page")]
    [alert] = await gateway.running.store.list_alerts(type="symptom")
    assert alert.vulnerable == ("elderly_alone",)


async def test_a_rotated_link_shows_a_small_page_that_says_so(
    gateway: Harness, browser: Browser, tmp_path: Path
):
    """The old link after a rotation: 404, a page in Chinese asking for a new QR code."""
    old = await _page_url(gateway)
    base = f"http://127.0.0.1:{gateway.running.http_port}"
    auth = {"Authorization": f"Bearer {gateway.token}"}
    async with httpx.AsyncClient(base_url=base, headers=auth) as staff:
        assert (await staff.post("/api/v1/households/h1/link/rotate")).status_code == 200
    context = await browser.new_context(viewport=PHONE, **WHERE)  # type: ignore[arg-type]
    page = await context.new_page()
    try:
        answer = await page.goto(old)
        assert answer is not None and answer.status == 404
        await expect(page.locator("p.notice")).to_contain_text("链接无效或已更换")
        await screenshot(page, tmp_path / "screenshots", "resident-page-phone-gone")
    finally:
        await context.close()
