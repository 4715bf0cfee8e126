"""The resident's page takes no login, so it is limited: requests per link and per address,
wrong secrets per address, announcements per day; and a page of another site cannot post."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path

import pytest

from gateway.alerting.operations import ANSWER_WITHIN_S
from tests.conftest import (
    BrokerUnderTest,
    Harness,
    advance,
    at_local,
    eventually,
    fake_time_gateway,
    lock_sqlite,
)
from tests.integration.resident_support import page_path, phone

NIGHT = at_local("2026-11-23 03:00")


async def _statuses(h: Harness, path: str, n: int) -> list[int]:
    async with phone(h) as resident:
        return [(await resident.get(f"{path}/info")).status_code for _ in range(n)]


async def test_a_link_over_its_rate_gets_429_with_retry_after_until_a_minute_passed(
    tmp_path: Path, broker: BrokerUnderTest, caplog: pytest.LogCaptureFixture
):
    """30 requests a minute for one link: the 31st is 429 with Retry-After (logged once); the
    other household's link is not touched; a minute later it works again."""
    async with fake_time_gateway(tmp_path, broker, NIGHT) as (h, clock):
        h1, h2 = await page_path(h, "h1"), await page_path(h, "h2")
        assert await _statuses(h, h1, 30) == [200] * 30
        async with phone(h) as resident:
            with caplog.at_level(logging.WARNING, "isogate.api.resident"):
                over = [await resident.post(h1, json={"reason": "garbage"}) for _ in range(3)]
            assert {r.status_code for r in over} == {429}
            assert 1 <= int(over[0].headers["retry-after"]) <= 2
            assert "请求过于频繁" in over[0].json()["detail"]
            assert (await resident.get(h2)).status_code == 200
            logged = [r.getMessage() for r in caplog.records]
            assert logged == [
                "resident page: the link of household h1 over its rate (from 127.0.0.1)"
            ]
            await advance(clock, 60)
            assert (await resident.post(h1, json={"reason": "garbage"})).status_code == 200
        # Refused requests announced nothing.
        assert len(await h.running.store.household_windows("h1")) == 1


async def test_an_address_over_its_rate_gets_429_on_every_link(
    tmp_path: Path, broker: BrokerUnderTest
):
    """60 requests a minute from one address, whatever the link: after 29 + 29 + 2, a link with
    requests to spare is still refused."""
    async with fake_time_gateway(tmp_path, broker, NIGHT) as (h, clock):
        h1, h2 = await page_path(h, "h1"), await page_path(h, "h2")
        assert await _statuses(h, h1, 29) + await _statuses(h, h2, 29) == [200] * 58
        assert await _statuses(h, "/r/nothing-here", 2) == [404, 404]
        refused = await _statuses(h, h1, 1)
        assert refused == [429]
        await advance(clock, 2)  # two requests earned back
        assert await _statuses(h, h1, 1) == [200]


async def test_an_address_guessing_secrets_is_refused_even_with_the_right_one(
    tmp_path: Path, broker: BrokerUnderTest
):
    """After 10 wrong secrets from one address, it gets 429 on every link (the right one too)
    until it earned a guess back; then one wrong guess shuts it out again."""
    async with fake_time_gateway(tmp_path, broker, NIGHT) as (h, clock):
        good = await page_path(h, "h1")
        async with phone(h) as guesser:
            wrong = [(await guesser.get(f"/r/guess{i}")).status_code for i in range(10)]
            assert wrong == [404] * 10
            blocked = await guesser.get(good)
            assert blocked.status_code == 429
            assert 1 <= int(blocked.headers["retry-after"]) <= 60
            assert (await guesser.post(good, json={"reason": "garbage"})).status_code == 429
            await advance(clock, 61)
            assert (await guesser.get(good)).status_code == 200
            assert (await guesser.get("/r/guess10")).status_code == 404
            assert (await guesser.get(good)).status_code == 429


async def test_the_day_s_announcements_run_out_and_come_back_the_next_day(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Six announcements a day: the seventh is 429 with a Chinese reason and Retry-After until
    local midnight; the page's count goes down to 0; the next day there are six again."""
    async with fake_time_gateway(tmp_path, broker, at_local("2026-11-23 22:00")) as (h, clock):
        path = await page_path(h)
        async with phone(h) as resident:
            left = []
            for _ in range(6):
                got = await resident.post(path, json={"reason": "delivery"})
                assert got.status_code == 200, got.text
                left.append(got.json()["remaining"])
            assert left == [5, 4, 3, 2, 1, 0]
            over = await resident.post(path, json={"reason": "delivery"})
            assert over.status_code == 429
            assert over.json()["detail"].startswith("今日报备次数已用完")
            assert over.headers["retry-after"] == str(2 * 3600)
            assert (await resident.get(f"{path}/info")).json()["remaining"] == 0
            await advance(clock, 2 * 3600)
            info = (await resident.get(f"{path}/info")).json()
            assert (info["remaining"], info["open_until"]) == (6, None)
            assert (await resident.post(path, json={"reason": "delivery"})).status_code == 200


async def test_a_post_from_another_site_s_page_is_refused_and_the_page_s_own_works(
    tmp_path: Path, broker: BrokerUnderTest
):
    """A cross-site POST (Origin or Sec-Fetch-Site say so) is 403 and changes nothing; the
    page's own (same origin), a form post and a tool's post without either header work."""
    async with fake_time_gateway(tmp_path, broker, NIGHT) as (h, _clock):
        path = await page_path(h)
        own = f"http://127.0.0.1:{h.running.http_port}"
        async with phone(h) as client:
            for headers in (
                {"Origin": "https://evil.example"},
                {"Origin": "null"},
                {"Sec-Fetch-Site": "cross-site"},
                {"Sec-Fetch-Site": "same-site", "Origin": own},
            ):
                for route, body in (
                    ("", {"reason": "garbage"}),
                    ("/symptoms", {"resident": 1, "symptoms": []}),
                    ("/services", {"kind": "garbage"}),
                ):
                    got = await client.post(path + route, json=body, headers=headers)
                    assert got.status_code == 403, (headers, route)
            assert await h.running.store.household_windows("h1") == []
            page_own = {"Origin": own, "Sec-Fetch-Site": "same-origin"}
            assert (
                await client.post(path, json={"reason": "garbage"}, headers=page_own)
            ).is_success
            form = await client.post(path, data={"reason": "medical"}, headers=page_own)
            assert form.status_code == 200 and form.json()["reason"] == "medical"
            checked = await client.post(
                f"{path}/symptoms", data={"resident": "1", "symptoms": ["fatigue"]}
            )
            assert checked.status_code == 200 and checked.json()["symptoms"] == ["fatigue"]
        assert len(await h.running.store.household_windows("h1")) == 2


async def test_bad_requests_get_a_chinese_reason_and_change_nothing(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Unknown reason, service or symptom, a resident out of range, a body that is not an
    object: 422 each, with what the page shows."""
    async with fake_time_gateway(tmp_path, broker, NIGHT) as (h, _clock):
        path = await page_path(h)
        async with phone(h) as client:
            cases = [
                ("", {"reason": "party"}, "请从列表中选择开门事由"),
                ("", {}, "请从列表中选择开门事由"),
                ("/services", {"kind": "pizza"}, "请从列表中选择服务"),
                ("/symptoms", {"resident": 2, "symptoms": []}, "请选择住户"),
                ("/symptoms", {"resident": True, "symptoms": []}, "请选择住户"),
                ("/symptoms", {"resident": 1, "symptoms": ["hiccups"]}, "症状选项无效"),
                ("/symptoms", {"resident": 1}, "症状选项无效"),
                ("/symptoms", [1], "请求内容无效"),
            ]
            for route, body, said in cases:
                got = await client.post(path + route, json=body)
                assert got.status_code == 422, (route, body)
                assert got.json()["detail"].startswith(said), (route, body, got.text)
        store = h.running.store
        assert await store.household_windows("h1") == []
        assert await store.service_requests(households=["h1"]) == []
        assert await store.symptom_checks(since=NIGHT) == []


async def test_a_busy_database_answers_503_in_bounded_time_and_announces_nothing(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Another writer holds the SQLite file: the page is told to try again (503, in Chinese)
    within the bound; released, the same announcement works."""
    async with fake_time_gateway(tmp_path, broker, NIGHT) as (h, _clock):
        path = await page_path(h)
        lock = await lock_sqlite(h)
        try:
            async with phone(h) as resident:
                t0 = time.monotonic()
                busy = await resident.post(path, json={"reason": "garbage"})
                took = time.monotonic() - t0
            assert busy.status_code == 503, busy.text
            assert busy.json()["detail"] == "系统繁忙，请稍后再试"
            assert took < ANSWER_WITHIN_S + 3
        finally:
            await asyncio.to_thread(lock.rollback)
            lock.close()
        # The cancelled commit keeps the desk until the database answered, then is discarded.
        desk = h.running.pipeline.desk
        await eventually(lambda: _true(not desk.lock.locked()))
        assert h.running.pipeline.watch.care.get("h1") is None
        async with phone(h) as resident:
            assert (await resident.post(path, json={"reason": "garbage"})).status_code == 200
        assert len(await h.running.store.household_windows("h1")) == 1


async def _true(value: bool) -> bool:
    return value
