"""`isogate demo` as a newcomer meets it: the printed URL and token open the console, which
shows the scripted night's alerts as they happen."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from playwright.async_api import Browser, expect

from simulators.broker import free_port
from tests.browser.conftest import DESKTOP, WHERE, screenshot

REPO = Path(__file__).resolve().parents[2]


async def _printed(proc: subprocess.Popen[str], pattern: str, timeout: float = 40) -> re.Match[str]:
    """Read the demo's output until a line matches ``pattern``."""
    assert proc.stdout is not None
    async with asyncio.timeout(timeout):
        while True:
            line = await asyncio.to_thread(proc.stdout.readline)
            assert line, "the demo ended early"
            found = re.search(pattern, line)
            if found:
                return found


def _start_demo(data: Path) -> subprocess.Popen[str]:
    """``isogate demo`` at 30× on a free port, its output to read."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ISOGATE_")}
    env |= {"ISOGATE_DATA_DIR": str(data), "ISOGATE_HTTP_PORT": str(free_port()), "COLUMNS": "200"}
    return subprocess.Popen(
        [sys.executable, "-m", "isogate", "demo", "--speed", "30"],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def test_the_demo_prints_a_console_url_and_token_that_show_the_night(
    tmp_path: Path, browser: Browser
):
    """The URL and token the demo prints log in; h03's breach at 03:00 and h05's fever appear
    in the queue without a reload."""
    proc = _start_demo(tmp_path)
    try:
        url = (await _printed(proc, r"console: (http://127\.0\.0\.1:\d+/)")).group(1)
        token = (await _printed(proc, r"login token: (\S+)")).group(1)
        context = await browser.new_context(viewport=DESKTOP, **WHERE)  # type: ignore[arg-type]
        page = await context.new_page()
        await page.goto(url)
        await page.fill("input[name=token]", token)
        await page.click("#login button[type=submit]")
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        breach = page.locator(
            "#alert-list li.alert[data-household='h03'][data-severity='critical']"
        )
        await expect(breach).to_be_visible(timeout=30000)
        fever = page.locator("#alert-list li.alert[data-household='h05'][data-severity='high']")
        await expect(fever).to_be_visible(timeout=30000)
        await expect(page.locator("#critical-banner")).to_be_visible()
        await screenshot(page, tmp_path, "console-demo-night-zh-1366x768")
        await context.close()
        proc.send_signal(signal.SIGINT)
        assert await asyncio.to_thread(proc.wait, 20) == 0
    finally:
        proc.kill()
