"""Browser fixtures: Debian's headless Chromium driven by Playwright, on a running gateway.

Playwright's own browser download does not work everywhere (nor offline), so the tests launch the
system's ``chromium`` and are skipped, saying why, where it is not installed (CI installs it).
Screenshots go to the test's tmp dir and are copied to ``test-artifacts/`` at the repository's
top (ignored by git) to be looked at.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gateway.store import Store
from simulators.door import DoorSensor
from tests.conftest import Harness

CHROMIUM = Path(os.environ.get("ISOGATE_CHROMIUM", "/usr/bin/chromium"))
HAVE_CHROMIUM = CHROMIUM.exists()
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1366, "height": 768}
# Where the watchers sit: the console shows times in the browser's own time zone.
WHERE = {"timezone_id": "Asia/Shanghai", "locale": "zh-CN"}
PHONE = {"width": 390, "height": 844}

try:
    from playwright.async_api import Browser, BrowserContext, Page, async_playwright
except ImportError:  # pragma: no cover - the dev extras pin it
    async_playwright = None


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    """Headless Chromium (skipped when the system has none)."""
    if async_playwright is None:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    if not HAVE_CHROMIUM:
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as pw:
        b = await pw.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--headless",
                "--disable-gpu",
                "--disable-background-networking",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        try:
            yield b
        finally:
            await b.close()


async def add_user(h: Harness, name: str, role: str) -> str:
    """A console user for ``name`` (a staff id of the test site); returns its login token."""
    token = uuid.uuid4().hex
    async with Store.open(h.settings.db_url) as store:
        await store.add_user(name, role, token, h.running.pipeline.clock.now())
    return token


def base_url(h: Harness) -> str:
    return f"http://127.0.0.1:{h.running.http_port}"


async def screenshot(page: Page, where: Path, name: str) -> Path:
    """Save what ``page`` shows as ``where/name.png`` and copy it to test-artifacts/."""
    path = where / f"{name}.png"
    await page.screenshot(path=str(path), full_page=False)  # makes the folder too
    await asyncio.to_thread(_keep, path)
    return path


def _keep(path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy(path, ARTIFACTS / path.name)


@dataclass
class Console:
    """One logged-in browser tab on the console, and what a test does with it."""

    page: Page
    context: BrowserContext
    shots: Path
    errors: list[str]

    async def screenshot(self, name: str) -> Path:
        """Save a screenshot under the test's tmp dir and test-artifacts/."""
        return await screenshot(self.page, self.shots, name)

    async def unacked(self) -> int:
        return int(await self.page.get_attribute("#unacked", "data-count") or "0")

    async def beeps(self) -> int:
        return int(await self.page.evaluate("document.body.dataset.alarmBeeps || '0'"))

    def card(self, household: str, severity: str = "critical") -> Any:
        """The queue's card of a household's alert of that severity."""
        return self.page.locator(
            f"#alert-list li.alert[data-household='{household}'][data-severity='{severity}']"
        )


OpenConsole = Callable[..., Any]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test item, so a fixture can tell that its test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
async def open_console(
    browser: Browser, gateway: Harness, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[OpenConsole]:
    """``await open_console(token, viewport=DESKTOP, lang=None)``: a tab logged in with it."""
    contexts: list[BrowserContext] = []

    async def opener(
        token: str, viewport: dict[str, int] = DESKTOP, lang: str | None = None
    ) -> Console:
        context = await browser.new_context(viewport=viewport, **WHERE)  # type: ignore[arg-type]
        contexts.append(context)
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        # Script errors; an HTTP error status (the 401 of the first session check before login)
        # is the page's business, not an error of its scripts.
        page.on(
            "console",
            lambda m: (
                m.type == "error"
                and not m.text.startswith("Failed to load resource")
                and errors.append(m.text)
            ),
        )
        if lang:
            await context.add_init_script(f"localStorage.setItem('isogate.lang', '{lang}')")
        await page.goto(base_url(gateway) + "/")
        await page.fill("input[name=token]", token)
        await page.click("#login button[type=submit]")
        await page.wait_for_selector("#app:not([hidden])", timeout=5000)
        await page.wait_for_selector("#conn[data-state=live]", timeout=5000)
        shots = tmp_path / "screenshots"
        shots.mkdir(exist_ok=True)
        return Console(page, context, shots, errors)

    yield opener
    failed = getattr(request.node, "report_call", None)
    for n, c in enumerate(contexts):
        if failed is not None and failed.failed:
            # What each tab showed when its test failed, to look at beside the traceback.
            for m, page in enumerate(c.pages):
                name = f"FAILED-{request.node.name}-{n}-{m}"
                await screenshot(page, tmp_path / "screenshots", name)
        await c.close()


async def open_door(h: Harness, household: str = "h1") -> None:
    """The door of h1 (zigbee2mqtt) or h2 (native) of the test site opens."""
    with h.link() as link:
        sensor = (
            DoorSensor(link, "h1/front door", "zigbee2mqtt", z2m_base=h.z2m)
            if household == "h1"
            else DoorSensor(link, "door-h2", "native", base_topic=h.base)
        )
        await asyncio.to_thread(sensor.open)


async def alert_of(h: Harness, household: str, type_: str = "door_breach") -> dict[str, Any]:
    """The next alert of that household and type published on the alert topics."""
    while True:
        topic, alert = await h.next_alert()
        if topic.endswith("/alerts") and alert["household"] == household and alert["type"] == type_:
            return alert
