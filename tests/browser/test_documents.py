"""The printable documents as a browser shows them after a console login: the notice and a
release report, styled by their own style sheet under the console's CSP (nothing refused), and
laid out as an A4 sheet on screen and in print."""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Browser, Page

from tests.browser.conftest import ARTIFACTS, DESKTOP, WHERE, base_url
from tests.conftest import BrokerUnderTest, Harness, fake_time_gateway
from tests.integration.access_support import token_for
from tests.integration.release_support import AFTER_IT, archived, release_h1, short_doc


async def _logged_in(browser: Browser, h: Harness, token: str) -> tuple[Page, list[str]]:
    context = await browser.new_context(viewport=DESKTOP, **WHERE)  # type: ignore[arg-type]
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    await page.goto(base_url(h) + "/")
    await page.fill("input[name=token]", token)
    await page.click("#login button[type=submit]")
    await page.wait_for_selector("#app:not([hidden])", timeout=5000)
    errors.clear()  # the console's 401 before the login is its own business
    return page, errors


async def _shoot(page: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def test_the_notice_and_the_release_report_render_as_sheets_with_their_styles(
    browser: Browser, tmp_path: Path, broker: BrokerUnderTest
):
    """Both pages load their style sheet (the sheet is A4 wide), show the QR code at its size,
    and the console's CSP refuses nothing on them."""
    doc = short_doc()
    doc["households"][1]["isolation"] = {"start": "2026-11-20T00:00", "end": "2026-12-04T00:00"}
    async with fake_time_gateway(tmp_path, broker, AFTER_IT, doc) as (h, _clock):
        await release_h1(h)
        await archived(h)
        page, errors = await _logged_in(browser, h, await token_for(h, "s1", "supervisor"))

        await page.goto(base_url(h) + "/api/v1/households/h2/notice")
        sheet = await page.locator("main.sheet").bounding_box()
        assert sheet is not None and 780 < sheet["width"] < 800  # 210 mm at 96 dpi
        qr = await page.locator("svg.qr").bounding_box()
        assert qr is not None and 150 < qr["width"] < 165  # 42 mm
        await _shoot(page, "notice-page")
        await page.emulate_media(media="print")
        assert await page.locator("aside.bar").is_hidden()  # the receipt line is not printed
        await page.emulate_media(media="screen")

        await page.goto(base_url(h) + "/api/v1/households/h1/release-report")
        assert await page.locator("h1").inner_text() == "解除隔离报告单"
        border = await page.locator("table.grid td").first.evaluate(
            "e => getComputedStyle(e).borderTopStyle"
        )
        assert border == "solid"
        await _shoot(page, "release-report-page")
        assert errors == []
