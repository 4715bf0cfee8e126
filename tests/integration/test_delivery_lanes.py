"""Delivery lanes over the real broker: a slow channel holds up nobody, moot retries stop."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.clock import SystemClock
from simulators.broker import free_port
from simulators.webhook_receiver import WebhookReceiver
from tests.conftest import BrokerUnderTest, Harness, prepare, running_gateway, site_doc
from tests.conftest import unique_settings as settings_for

WAIT_S = 15.0


def _hook(channel_id: str, url: str, kind: str = "webhook") -> dict[str, Any]:
    return {"id": channel_id, "kind": kind, "url": url, "types": ["door_breach"]}


@asynccontextmanager
async def _gateway(
    tmp_path: Path, broker: BrokerUnderTest, channels: list[dict[str, Any]]
) -> AsyncIterator[Harness]:
    """The test community with ``channels``, retries spaced 0.2–1 s."""
    doc = site_doc(door_debounce_s=0)
    doc["channels"] = channels
    s = settings_for(tmp_path, broker, retry_base_s=0.2, retry_cap_s=1.0)
    clock = SystemClock()
    token = await prepare(s, doc, clock.now())
    async with running_gateway(s, broker, clock, token) as h:
        yield h


async def _open_door_h1(h: Harness) -> None:
    with h.link() as link:
        await asyncio.to_thread(link.publish, f"{h.z2m}/h1/front door", b'{"contact": false}')


async def _open_door_h2(h: Harness) -> None:
    with h.link() as link:
        body = b'{"type": "door", "open": true}'
        await asyncio.to_thread(link.publish, f"{h.base}/dev/door-h2/event", body)


async def _alert_on(h: Harness, topic_end: str) -> dict[str, Any]:
    while True:
        topic, alert = await h.next_alert(WAIT_S)
        if topic.endswith(topic_end) and alert["type"] == "door_breach":
            return alert


async def _row(h: Harness, alert_id: str, channel: str) -> dict[str, Any]:
    [row] = [r for r in await h.running.store.alert_deliveries(alert_id) if r["channel"] == channel]
    return row


async def test_hanging_webhook_delays_neither_mqtt_nor_another_webhook(
    tmp_path: Path, broker: BrokerUnderTest
):
    """One webhook hangs on a breach; the next breach reaches the officer and the other hook."""
    with WebhookReceiver() as stuck, WebhookReceiver() as fine:
        stuck.hang()
        channels = [_hook("stuck-hook", stuck.url()), _hook("fine-hook", fine.url())]
        async with _gateway(tmp_path, broker, channels) as h:
            await _open_door_h2(h)
            first = await _alert_on(h, "/alerts/to/p2")
            await h.wait_for(lambda: _true(stuck.total_posts >= 1))  # the POST hangs now
            started = time.monotonic()
            await _open_door_h1(h)
            second = await _alert_on(h, "/alerts/to/p1")
            officer_s = time.monotonic() - started
            got = await asyncio.to_thread(fine.wait_for, 2, WAIT_S)
            hook_s = time.monotonic() - started
            # The second POST to the stuck hook may reach it just after the fine hook's.
            await h.wait_for(lambda: _true(stuck.total_posts >= 2))
            still_hanging = [r.answered for r in stuck.requests]
    print(f"\nofficer's MQTT alert after {officer_s:.2f} s, the other webhook after {hook_s:.2f} s")
    assert officer_s < 3.0  # before: ~10 s, the hanging POST's timeout
    assert hook_s < 3.0
    assert {d.alert_id for d in got} == {first["id"], second["id"]}
    assert still_hanging == [0, 0]  # both breaches' POSTs, never answered while all this happened


async def _true(value: bool) -> bool:
    return value


async def test_raised_notice_stops_retrying_once_acknowledged(
    tmp_path: Path, broker: BrokerUnderTest
):
    """Webhook fails, the officer acks, the webhook recovers: it gets the ack, not the raise."""
    with WebhookReceiver() as hook:
        hook.fail_until_cleared(500)
        async with _gateway(tmp_path, broker, [_hook("hook", hook.url())]) as h:
            await _open_door_h1(h)
            alert = await _alert_on(h, "/alerts/to/p1")
            await asyncio.to_thread(lambda: _wait_posts(hook, 1))  # the first attempt happened
            url = f"http://127.0.0.1:{h.running.http_port}/api/v1/alerts/{alert['id']}/ack"
            async with httpx.AsyncClient(trust_env=False) as client:
                answer = await client.post(
                    url, json={"note": "on my way"}, headers={"Authorization": f"Bearer {h.token}"}
                )
            assert answer.status_code == 200, answer.text
            hook.clear()
            await asyncio.to_thread(hook.wait_for, 1, WAIT_S)

            async def raised_cancelled() -> bool:
                rows = await h.running.store.alert_deliveries(alert["id"])
                states = [r["state"] for r in rows if r["channel"] == "hook"]
                return states == ["cancelled", "delivered"]

            await h.wait_for(raised_cancelled, WAIT_S)
    assert hook.counts() == {(alert["id"], "acknowledged"): 1}
    assert next(r.status for r in hook.requests if r.answered == 500) == "open"


def _wait_posts(hook: WebhookReceiver, n: int) -> None:
    deadline = time.monotonic() + WAIT_S
    while hook.total_posts < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{hook.total_posts} POSTs, expected {n}")
        time.sleep(0.02)


async def test_outbox_pending_gauge_counts_what_waits(tmp_path: Path, broker: BrokerUnderTest):
    """A failing webhook's notice shows in /metrics as pending, and leaves it when delivered."""
    with WebhookReceiver() as hook:
        hook.fail_until_cleared(503)
        async with _gateway(tmp_path, broker, [_hook("hook", hook.url())]) as h:
            metrics_url = f"http://127.0.0.1:{h.running.http_port}/metrics"

            async def pending_is(n: float) -> bool:
                async with httpx.AsyncClient(trust_env=False) as client:
                    text = (await client.get(metrics_url)).text
                return f"isogate_outbox_pending {n}" in text

            await _open_door_h1(h)
            await _alert_on(h, "/alerts/to/p1")
            await h.wait_for(lambda: pending_is(1.0), WAIT_S)
            hook.clear()
            await asyncio.to_thread(hook.wait_for, 1, WAIT_S)
            await h.wait_for(lambda: pending_is(0.0), WAIT_S)


async def test_webhook_secrets_never_reach_the_log_or_the_table(
    tmp_path: Path, broker: BrokerUnderTest, caplog: pytest.LogCaptureFixture
):
    """A WeCom key and a DingTalk token stay out of every log line and stored error."""
    caplog.set_level(logging.DEBUG)
    key, token = "wecom-key-5f2a9c11", "ding-token-77e0b3d4"
    with WebhookReceiver() as hook:
        hook.fail_until_cleared(500)
        channels = [
            _hook("dead-bot", f"http://127.0.0.1:{free_port()}/wecom?key={key}", "wecom"),
            _hook("failing-bot", hook.url(f"/dingtalk?access_token={token}"), "dingtalk"),
        ]
        async with _gateway(tmp_path, broker, channels) as h:
            caplog.clear()  # the test's own loading of the site is not the gateway's log
            await _open_door_h1(h)
            alert = await _alert_on(h, "/alerts/to/p1")

            async def both_retried() -> bool:
                rows = await h.running.store.alert_deliveries(alert["id"])
                return all(r["attempts"] >= 2 for r in rows if r["channel"].endswith("-bot"))

            await h.wait_for(both_retried, WAIT_S)
            errors = [
                r["last_error"]
                for r in await h.running.store.alert_deliveries(alert["id"])
                if r["channel"].endswith("-bot")
            ]
    assert len(errors) == 2 and all(errors)
    assert "HTTP Request: POST" in caplog.text  # the HTTP client's lines were captured
    assert "<redacted>" in caplog.text
    for secret in (key, token):
        assert secret not in caplog.text
        assert not any(secret in e for e in errors)
