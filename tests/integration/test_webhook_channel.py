"""WebhookChannel against a real HTTP receiver: JSON, WeCom and DingTalk, failures and retries."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from gateway.clock import SystemClock
from gateway.notify.channels.base import DeliveryError
from gateway.notify.channels.webhook import WebhookChannel, alert_json
from rules.alerts import AlertStatus
from simulators.webhook_receiver import WebhookReceiver
from tests.samples import BREACH as SAMPLE

SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE = "http://10.0.0.5:8000"
SECRET = "SEC5a3ecf88f2b3eb50db30ecfc00f53033ac909c99bf7f88fd612bda89d7f3a9dc"

BREACH = replace(
    SAMPLE,
    raised_at=datetime(2026, 11, 22, 19, 12, 5, 120000, tzinfo=UTC),
    recipients=("p1", "w1"),
    delivery_id="outbox-42",
)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    """A webhook receiver that checks DingTalk signatures with SECRET."""
    with WebhookReceiver(dingtalk_secret=SECRET) as r:
        yield r


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client that ignores proxy settings of the environment."""
    async with httpx.AsyncClient(trust_env=False) as c:
        yield c


def channel(
    client: httpx.AsyncClient,
    url: str,
    kind: str,
    *,
    secret: str | None = None,
    msgtype: str = "markdown",
    timeout: float = 2.0,
) -> WebhookChannel:
    """A channel with the test zone, base URL and real time (DingTalk checks the timestamp)."""
    return WebhookChannel(
        url,
        kind,
        client=client,
        tz=SHANGHAI,
        base_url=BASE,
        clock=SystemClock(),
        secret=secret,
        msgtype=msgtype,
        timeout=timeout,
    )


async def test_json_webhook_receives_the_spec_alert_json(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    """The generic webhook gets the SPEC §3 alert JSON and the idempotency headers."""
    await channel(client, receiver.url("/hook"), "json").send(BREACH)
    [got] = receiver.wait_for(1)
    assert got.body == alert_json(BREACH, SHANGHAI)
    assert got.body["raised_at"] == "2026-11-23T03:12:05.120+08:00"
    assert got.body["recipients"] == ["p1", "w1"]
    assert got.body["snapshot"] == BREACH.snapshot_url
    assert got.headers["x-isogate-alert-id"] == BREACH.alert_id
    assert got.headers["x-isogate-delivery-id"] == "outbox-42"
    assert got.headers["content-type"].startswith("application/json")


async def test_wecom_bot_gets_chinese_markdown(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    """The WeCom group bot gets a markdown message with the address and the snapshot link."""
    await channel(client, receiver.url("/wecom?key=abc"), "wecom").send(BREACH)
    [got] = receiver.wait_for(1)
    assert got.body["msgtype"] == "markdown"
    content = got.body["markdown"]["content"]
    assert "幸福小区3栋2单元501" in content
    assert f"{BASE}{BREACH.snapshot_url}" in content
    assert got.query == {"key": "abc"}


async def test_wecom_text_message_is_plain(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    """A bot configured for text gets plain text without markdown marks."""
    await channel(client, receiver.url("/wecom"), "wecom", msgtype="text").send(BREACH)
    [got] = receiver.wait_for(1)
    assert got.body["msgtype"] == "text"
    assert "**" not in got.body["text"]["content"]
    assert "违规开门" in got.body["text"]["content"]


async def test_signed_dingtalk_message_is_accepted(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    """A DingTalk robot with a secret accepts the signed request (the receiver verifies it)."""
    url = receiver.url("/dingtalk?access_token=tok")
    await channel(client, url, "dingtalk", secret=SECRET).send(BREACH)
    [got] = receiver.wait_for(1)
    assert set(got.query) == {"access_token", "timestamp", "sign"}
    assert got.body["markdown"]["title"].startswith("【isogate】紧急·违规开门")
    assert "门磁" in got.body["markdown"]["text"]


async def test_dingtalk_with_the_wrong_secret_is_refused_for_good(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    """A bad signature (errcode 310000) is a configuration error: not retryable."""
    ding = channel(client, receiver.url("/dingtalk?access_token=tok"), "dingtalk", secret="SECno")
    with pytest.raises(DeliveryError) as caught:
        await ding.send(BREACH)
    assert caught.value.retryable is False
    assert caught.value.code == "errcode:310000"
    assert receiver.deliveries == []


async def test_server_error_is_retryable_and_the_retry_delivers_once(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    """A 500 asks for a retry; the retry lands exactly once under the same delivery id."""
    hook = channel(client, receiver.url("/hook"), "json")
    receiver.fail_next(1, status=500)
    with pytest.raises(DeliveryError) as caught:
        await hook.send(BREACH)
    assert caught.value.retryable is True
    assert caught.value.code == "http:500"
    await hook.send(BREACH)
    assert receiver.total_posts == 2
    assert receiver.counts() == {(BREACH.alert_id, "open"): 1}
    assert {r.delivery_id for r in receiver.requests} == {"outbox-42"}


async def test_status_update_is_a_new_delivery(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    """The acknowledged update of an alert is counted apart from its opening."""
    hook = channel(client, receiver.url("/hook"), "json")
    await hook.send(BREACH)
    await hook.send(replace(BREACH, status=AlertStatus.ACKNOWLEDGED, delivery_id="outbox-43"))
    assert receiver.counts() == {
        (BREACH.alert_id, "open"): 1,
        (BREACH.alert_id, "acknowledged"): 1,
    }


async def test_receiver_that_hangs_times_out_as_retryable(
    receiver: WebhookReceiver, client: httpx.AsyncClient
) -> None:
    """A receiver that never answers costs one bounded timeout and a retryable error."""
    receiver.hang()
    with pytest.raises(DeliveryError) as caught:
        await channel(client, receiver.url("/hook"), "json", timeout=0.3).send(BREACH)
    assert caught.value.retryable is True
    assert caught.value.code == "timeout"
    receiver.clear()
    await channel(client, receiver.url("/hook"), "json").send(BREACH)
    assert len(receiver.wait_for(1)) == 1


@pytest.mark.parametrize(
    ("path", "errcode", "retryable"),
    [("/wecom", 45009, True), ("/dingtalk", 130101, True), ("/wecom", 93000, False)],
)
async def test_bot_error_codes_decide_the_retry(
    receiver: WebhookReceiver,
    client: httpx.AsyncClient,
    path: str,
    errcode: int,
    retryable: bool,
) -> None:
    """Rate limits (WeCom 45009, DingTalk 130101) are retried; a bad key (93000) is not."""
    kind = path.strip("/")
    secret = SECRET if kind == "dingtalk" else None
    receiver.errcode_next(1, errcode)
    with pytest.raises(DeliveryError) as caught:
        await channel(client, receiver.url(path), kind, secret=secret).send(BREACH)
    assert caught.value.retryable is retryable
    assert caught.value.code == f"errcode:{errcode}"


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (400, False), (429, True)])
async def test_client_errors_are_permanent_except_too_many_requests(
    receiver: WebhookReceiver, client: httpx.AsyncClient, status: int, retryable: bool
) -> None:
    """A 4xx will not change by itself, but a 429 will."""
    receiver.fail_next(1, status=status)
    with pytest.raises(DeliveryError) as caught:
        await channel(client, receiver.url("/hook"), "json").send(BREACH)
    assert caught.value.retryable is retryable


async def test_nobody_listening_is_retryable(client: httpx.AsyncClient) -> None:
    """A refused connection (the receiver is down) is worth another attempt."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DeliveryError) as caught:
        await channel(client, f"http://127.0.0.1:{port}/hook", "json").send(BREACH)
    assert caught.value.retryable is True
    assert caught.value.code == "transport"


async def test_a_secret_for_a_bot_that_cannot_sign_is_refused(client: httpx.AsyncClient) -> None:
    """Only DingTalk signs; a secret elsewhere is a configuration mistake caught at start."""
    with pytest.raises(ValueError, match="DingTalk"):
        channel(client, "http://127.0.0.1:9/wecom", "wecom", secret="x")
