"""What the resident page's tests share: the page link as staff get it, and a client that
talks to the page as a phone does (no token, no cookie)."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from tests.conftest import Harness
from tests.integration.access_support import api

NAMES = ("张三", "李四")
"""The test site's residents' names: the page never shows them."""


async def page_path(h: Harness, household: str = "h1", token: str | None = None) -> str:
    """The path ``/r/<secret>`` of a household's page, as an admin (or ``token``) reads it."""
    async with api(h, token or h.token) as staff:
        got = await staff.get(f"/api/v1/households/{household}/link")
    assert got.status_code == 200, got.text
    url = got.json()["url"]
    assert url.startswith(f"http://127.0.0.1:{h.running.http_port}/r/")
    return urlsplit(url).path


def phone(h: Harness) -> httpx.AsyncClient:
    """An HTTP client as a resident's phone: no token, no cookie."""
    return api(h)
