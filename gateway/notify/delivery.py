"""Which sender delivers each outbox item: MQTT always, and the site's channels.

The hub owns the long-lived resources the channels share (one HTTP client, the GSM modem) and
builds a channel object per site-file ``channels`` entry, anew when the entry changes. An item
carries an alert's notification, or a report (``daily:<day>``, :mod:`gateway.notify.report_notice`)
that the same channel renders its own way.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable
from types import TracebackType

import httpx

from gateway.clock import Clock
from gateway.ingest.mqtt import MAX_QUEUED_PUBLISHES, MqttSession, PublishError
from gateway.notify.channels import (
    DeliveryError,
    GsmModem,
    Notification,
    SmsChannel,
    WebhookChannel,
)
from gateway.notify.channels.text import BRAND
from gateway.notify.redact import guard_logs
from gateway.notify.report_notice import ReportNotice, is_report
from gateway.store.records import OutboxItem
from rules.alerts import AlertStatus
from rules.directory import Directory
from rules.site import Channel, ChannelKind

log = logging.getLogger("isogate.delivery")

Send = Callable[[OutboxItem], Awaitable[None]]

PUBACK_TIMEOUT_S = 10.0


def notification(item: OutboxItem) -> Notification:
    """Rebuild the Notification an outbox item was written with."""
    return Notification.from_json(item.body, str(item.id) if item.id is not None else None)


def notice_status(item: OutboxItem) -> AlertStatus | None:
    """The alert status an outbox item announces (both the MQTT and the channel bodies say it).

    None for a body that does not say (it is then delivered like any other).
    """
    try:
        status = json.loads(item.body).get("status")
        return AlertStatus(status)
    except (ValueError, AttributeError):
        return None


class Deliveries:
    """Senders by channel id; an async context manager around the shared resources."""

    def __init__(
        self,
        clock: Clock,
        session: MqttSession,
        directory: Callable[[], Directory],
        *,
        link_base: str,
        modem_port: str | None = None,
        modem_baud: int = 115200,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.link_base = link_base
        self.modem_port = modem_port
        self.modem_baud = modem_baud
        self.clock = clock
        self.session = session
        self.directory = directory
        self._http = http
        self._own_http = http is None
        self._modem: GsmModem | None = None
        self._stack = contextlib.AsyncExitStack()
        self._built: dict[str, tuple[str, WebhookChannel | SmsChannel]] = {}
        # The PUBACK future of each outbox item's one publish, until an attempt sees it settle.
        # Unsettled ones are bounded by paho's queue bound (a publish it refuses fails at once);
        # settled ones nobody came back for are pruned.
        self._publishing: dict[int, asyncio.Future[None]] = {}

    async def __aenter__(self) -> Deliveries:
        guard_logs()
        if self._http is None:
            self._http = await self._stack.enter_async_context(httpx.AsyncClient(timeout=10))
        if self.modem_port:
            modem = GsmModem(self.modem_port, clock=self.clock, baudrate=self.modem_baud)
            self._modem = await self._stack.enter_async_context(modem)
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    def sender(self, channel_id: str) -> Send | None:
        """The sender of one channel id; None when the site has no such channel."""
        if channel_id == "mqtt":
            return self._mqtt
        config = next((c for c in self.directory().site.channels or [] if c.id == channel_id), None)
        if config is None:
            return None
        channel = self._channel(config)

        async def deliver(item: OutboxItem) -> None:
            if channel is None:
                raise DeliveryError(_NO_MODEM, retryable=True, channel="sms", code="port")
            if is_report(item):
                await _send_report(channel, item)
            else:
                await channel.send(notification(item))

        return deliver

    async def _mqtt(self, item: OutboxItem) -> None:
        """Publish an item once; a retry waits for the copy paho holds instead of another.

        paho keeps an unacknowledged message and sends it again on reconnect: publishing anew
        on each retry during a broker outage would reach the recipient once per retry.
        """
        key = item.id if item.id is not None else -id(item)
        fut = self._publishing.get(key)
        if fut is None or (fut.done() and (fut.cancelled() or fut.exception() is not None)):
            fut = self.session.publish_nowait(item.target, item.body.encode(), qos=1)
            self._publishing[key] = fut
            self._prune_publishing()
        try:
            await self.session.wait_published(fut, item.target, PUBACK_TIMEOUT_S)
        except PublishError:
            if fut.done():
                del self._publishing[key]  # failed for good (queue full, session closed)
            raise
        self._publishing.pop(key, None)

    def _prune_publishing(self) -> None:
        """Forget settled publishes of items no attempt came back for (cancelled, given up)."""
        if len(self._publishing) > 2 * MAX_QUEUED_PUBLISHES:
            for key in [k for k, f in self._publishing.items() if f.done()]:
                del self._publishing[key]

    def _channel(self, c: Channel) -> WebhookChannel | SmsChannel | None:
        """The channel object of a site entry (None: SMS without a modem), anew when the entry
        changed."""
        fingerprint = c.model_dump_json()
        cached = self._built.get(c.id)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        tz = self.directory().tz
        base = self.link_base
        channel: WebhookChannel | SmsChannel | None
        if c.kind is ChannelKind.SMS:
            if self._modem is None:
                return None
            channel = SmsChannel(self._modem, tz=tz, base_url=base)
        else:
            assert self._http is not None and c.url is not None
            secret = c.secret or (os.environ.get(c.secret_env) if c.secret_env else None)
            kind = "json" if c.kind is ChannelKind.WEBHOOK else c.kind.value
            channel = WebhookChannel(
                c.url,
                kind,
                client=self._http,
                tz=tz,
                base_url=base,
                clock=self.clock,
                secret=secret,
                msgtype=c.msgtype,
                name=c.id,
            )
        self._built[c.id] = (fingerprint, channel)
        return channel


_NO_MODEM = "no GSM modem configured (ISOGATE_MODEM_PORT)"


async def _send_report(channel: WebhookChannel | SmsChannel, item: OutboxItem) -> None:
    """One attempt at a report notice: the JSON or a bot's text, or the text by SMS."""
    try:
        notice = ReportNotice.from_json(item.body)
    except ValueError as exc:
        raise DeliveryError(str(exc), retryable=False, channel=channel.name, code="body") from exc
    delivery = str(item.id) if item.id is not None else notice.key
    if isinstance(channel, SmsChannel):
        await channel.send_text(notice.phone, f"{BRAND}{notice.text}", delivery)
    else:
        await channel.send_report(notice, delivery)
