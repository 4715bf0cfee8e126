"""What the gateway serves to browsers: the console page with strict headers, its files and
nothing beside them, and the API docs from local files only (an offline site sees them)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from api.console import STATIC, static_file
from tests.browser.conftest import base_url
from tests.conftest import Harness


async def test_the_console_page_has_strict_headers_and_no_inline_script(gateway: Harness):
    """``/`` is HTML that is never cached, cannot be framed, and allows only the gateway's own
    scripts; the page itself holds no script but module files."""
    async with httpx.AsyncClient(base_url=base_url(gateway)) as web:
        page = await web.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-frame-options"] == "DENY"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page.text, re.S)
    assert scripts and all(body.strip() == "" for body in scripts)
    form = re.search(r"<form id=\"login\"[^>]*>", page.text)
    assert form and 'method="post"' in form.group(0)
    assert len(re.findall(r"<input ", page.text)) == 1 and 'name="token"' in page.text


async def test_the_console_files_are_served_and_nothing_beside_them(gateway: Harness):
    """Every module the page imports loads; paths out of the folder, hidden files and other
    kinds of file are 404."""
    async with httpx.AsyncClient(base_url=base_url(gateway)) as web:
        for name in ("console.js", "console.css", "js/alerts.js", "js/i18n.js", "favicon.svg"):
            r = await web.get(f"/static/{name}")
            assert r.status_code == 200, name
            assert r.headers["x-content-type-options"] == "nosniff"
        assert (
            (await web.get("/static/console.js"))
            .headers["content-type"]
            .startswith("text/javascript")
        )
        for bad in ("../console.py", "..%2Fconsole.py", "index.html", ".hidden.js", "nope.js"):
            assert (await web.get(f"/static/{bad}")).status_code == 404, bad


def test_a_static_path_outside_the_folder_is_refused(tmp_path: Path):
    """The resolver refuses parents, absolute paths, links out and unlisted suffixes."""
    (tmp_path / "ok.js").write_text("1")
    (tmp_path / "secret.py").write_text("2")
    outside = tmp_path.parent / "outside.js"
    outside.write_text("3")
    (tmp_path / "link.js").symlink_to(outside)
    assert static_file(tmp_path, "ok.js") == (tmp_path / "ok.js").resolve()
    for bad in ("../outside.js", "/etc/passwd", "secret.py", "link.js", "", ".ok.js"):
        assert static_file(tmp_path, bad) is None, bad
    assert static_file(STATIC, "console.js") is not None


async def test_the_api_docs_use_only_local_files_and_show_in_the_browser(
    gateway: Harness, browser: Browser
):
    """/api/docs names no other host, each asset it names loads, and Swagger UI draws the
    gateway's API in a browser that may reach nothing but the gateway."""
    base = base_url(gateway)
    async with httpx.AsyncClient(base_url=base) as web:
        html = (await web.get("/api/docs")).text
        urls = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
        for u in urls:
            assert (await web.get(u)).status_code == 200, u

    context = await browser.new_context()
    page = await context.new_page()
    elsewhere: list[str] = []

    async def only_the_gateway(route):  # type: ignore[no-untyped-def]
        if route.request.url.startswith(base):
            await route.continue_()
        else:
            elsewhere.append(route.request.url)
            await route.abort()

    await page.route("**/*", only_the_gateway)
    await page.goto(base + "/api/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("isogate")
    await expect(page.locator(".opblock-summary-path").first).to_be_visible()
    assert elsewhere == []
    await context.close()


def test_every_console_text_is_in_both_languages():
    """The Chinese and the English table of the console's words have the same keys, in the
    main table and in each view's own (i18n-*.js), and no key is in two tables."""

    def keys(block: str) -> set[str]:
        return set(re.findall(r'^\s+"?([\w.]+)"?:', block, re.M))

    seen: set[str] = set()
    for path in sorted((STATIC / "js").glob("i18n*.js")):
        source = path.read_text(encoding="utf-8")
        found = re.search(r"\bzh: \{(.*?)\n  \},\n  en: \{(.*?)\n  \},", source, re.S)
        assert found, f"{path.name}: no zh and en tables"
        zh, en = found.groups()
        assert keys(zh) == keys(en), path.name
        assert not keys(zh) & seen, f"{path.name} repeats {keys(zh) & seen}"
        seen |= keys(zh)
    assert len(seen) > 250
