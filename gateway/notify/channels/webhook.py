"""HTTP channels: a generic JSON webhook, the WeCom group bot and the DingTalk robot.

One POST per ``send``. Failures map to ``DeliveryError``: connection errors, timeouts, HTTP 5xx,
408 and 429, and the bots' rate-limit and busy codes are retryable; other 4xx and error codes
(a bad key, a rejected signature, a malformed body) are not, because repeating them cannot help.

Every request carries ``X-Isogate-Alert-Id``, ``X-Isogate-Alert-Status`` and
``X-Isogate-Delivery-Id`` so that a receiver can drop a delivery the outbox retried after a
timeout that in fact reached it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import tzinfo
from enum import StrEnum
from typing import Any
from urllib.parse import quote_plus

import httpx

from gateway.clock import Clock
from gateway.notify.channels.base import DeliveryError, Notification
from gateway.notify.channels.text import BRAND, markdown_text, markdown_title, plain_text
from gateway.notify.redact import redact, redact_url, secrets_of
from gateway.notify.report_notice import ReportNotice


class WebhookKind(StrEnum):
    """The body and answer format of a webhook."""

    JSON = "json"
    WECOM = "wecom"
    DINGTALK = "dingtalk"


# Codes that mean "not now" rather than "never": WeCom 45009 (api freq out of limit) and -1
# (system busy); DingTalk 130101 (send too fast, 20 a minute) and 410100 (the newer rate-limit
# code), -1 (system busy).
RETRYABLE_ERRCODES: dict[WebhookKind, frozenset[int]] = {
    WebhookKind.WECOM: frozenset({45009, -1}),
    WebhookKind.DINGTALK: frozenset({130101, 410100, -1}),
}

# Both bots refuse bodies over these sizes (UTF-8 bytes): WeCom markdown 4096, text 2048;
# DingTalk documents 20000 for both. A cut message is better than a refused one.
_BODY_LIMITS: dict[tuple[WebhookKind, str], int] = {
    (WebhookKind.WECOM, "markdown"): 4096,
    (WebhookKind.WECOM, "text"): 2048,
    (WebhookKind.DINGTALK, "markdown"): 20000,
    (WebhookKind.DINGTALK, "text"): 20000,
}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """The DingTalk robot signature, URL-encoded, ready for the ``sign`` query parameter.

    The documented algorithm: sign the string ``f"{timestamp}\\n{secret}"`` with HMAC-SHA256
    keyed by the secret (both UTF-8), Base64-encode the digest, then URL-encode the result.

    Args:
        secret: The robot's secret (the ``SEC...`` string of its security settings).
        timestamp_ms: Milliseconds since the epoch; DingTalk refuses it an hour away from now.

    Returns:
        The URL-encoded signature.
    """
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


def alert_json(n: Notification, tz: tzinfo) -> dict[str, Any]:
    """The SPEC §3 alert JSON of a notification (the generic webhook's body)."""
    return {
        "id": n.alert_id,
        "type": n.type.value,
        "severity": n.severity.value,
        "household": n.household_id,
        "address": n.address,
        "device": n.device_id,
        "raised_at": n.raised_at.astimezone(tz).isoformat(timespec="milliseconds"),
        "status": n.status.value,
        "recipients": list(n.all_recipients),
        "escalation_level": n.escalation_level,
        "message": n.message,
        "snapshot": n.snapshot_url,
        "acked_by": n.acked_by,
        "acked_at": n.acked_at and n.acked_at.astimezone(tz).isoformat(timespec="milliseconds"),
        "resolved_by": n.resolved_by,
        "resolved_at": n.resolved_at
        and n.resolved_at.astimezone(tz).isoformat(timespec="milliseconds"),
        "note": n.note,
    }


def _cut_utf8(text: str, limit: int) -> str:
    data = text.encode()
    if len(data) <= limit:
        return text
    # Leave room for the ellipsis and never end inside a multi-byte character.
    return data[: limit - 3].decode(errors="ignore") + "…"


class WebhookChannel:
    """Deliver notifications to one webhook URL (a receiver, a WeCom bot, a DingTalk robot)."""

    def __init__(
        self,
        url: str,
        kind: WebhookKind | str,
        *,
        client: httpx.AsyncClient,
        tz: tzinfo,
        base_url: str,
        clock: Clock,
        secret: str | None = None,
        msgtype: str = "markdown",
        timeout: float = 10.0,
        name: str | None = None,
    ) -> None:
        """Configure the channel; no I/O happens here.

        Args:
            url: The webhook URL (a bot's URL carries its key or access token).
            kind: ``json``, ``wecom`` or ``dingtalk``.
            client: The shared HTTP client; the caller owns its lifetime.
            tz: The site's zone for the times in the text.
            base_url: The console's public base URL for snapshot links.
            clock: Source of the DingTalk signature's timestamp.
            secret: DingTalk's signing secret; None when the robot uses another safeguard.
            msgtype: ``markdown`` or ``text`` for the bots; ignored for ``json``.
            timeout: Seconds for the whole request.
            name: The channel's name in logs and errors.

        Raises:
            ValueError: an unknown kind or msgtype, or a secret for a kind that cannot use it.
        """
        self.kind = WebhookKind(kind)
        if msgtype not in ("markdown", "text"):
            raise ValueError(f"msgtype must be 'markdown' or 'text', not {msgtype!r}")
        if secret and self.kind is not WebhookKind.DINGTALK:
            raise ValueError("only DingTalk robots are signed with a secret")
        self.url = url
        self.name = name or f"webhook:{self.kind.value}"
        # The bot's key or token and the signing secret: never in an error text.
        self._secrets = (*secrets_of(url), *((secret,) if secret else ()))
        self._client = client
        self._tz = tz
        self._base_url = base_url
        self._clock = clock
        self._secret = secret
        self._msgtype = msgtype
        self._timeout = timeout

    def body(self, n: Notification) -> dict[str, Any]:
        """The JSON body this channel posts for ``n``."""
        if self.kind is WebhookKind.JSON:
            return alert_json(n, self._tz)
        limit = _BODY_LIMITS[(self.kind, self._msgtype)]
        if self._msgtype == "text":
            content = _cut_utf8(plain_text(n, self._tz, self._base_url), limit)
            return {"msgtype": "text", "text": {"content": content}}
        content = _cut_utf8(markdown_text(n, self._tz, self._base_url), limit)
        if self.kind is WebhookKind.WECOM:
            return {"msgtype": "markdown", "markdown": {"content": content}}
        return {"msgtype": "markdown", "markdown": {"title": markdown_title(n), "text": content}}

    def target(self) -> str:
        """The URL to post to, signed with a fresh timestamp for a DingTalk robot with a secret."""
        if self.kind is not WebhookKind.DINGTALK or not self._secret:
            return self.url
        timestamp = int(self._clock.now().timestamp() * 1000)
        sep = "&" if "?" in self.url else "?"
        sign = dingtalk_sign(self._secret, timestamp)
        return f"{self.url}{sep}timestamp={timestamp}&sign={sign}"

    async def send(self, n: Notification) -> None:
        """Post ``n`` once.

        Raises:
            DeliveryError: the post failed; ``retryable`` says whether to try again.
        """
        await self._post(self.body(n), n.alert_id, n.status.value, n.delivery_key)

    def report_body(self, notice: ReportNotice) -> dict[str, Any]:
        """The JSON body this channel posts for a report: the report itself to a generic
        webhook, the summary text to a bot."""
        if self.kind is WebhookKind.JSON:
            return notice.report
        limit = _BODY_LIMITS[(self.kind, self._msgtype)]
        text = _cut_utf8(f"{BRAND}{notice.text}", limit)
        if self._msgtype == "text":
            return {"msgtype": "text", "text": {"content": text}}
        if self.kind is WebhookKind.WECOM:
            return {"msgtype": "markdown", "markdown": {"content": text}}
        return {"msgtype": "markdown", "markdown": {"title": notice.title, "text": text}}

    async def send_report(self, notice: ReportNotice, delivery_id: str) -> None:
        """Post a report once (``X-Isogate-Alert-Id`` is its key, the status ``report``).

        Raises:
            DeliveryError: the post failed; ``retryable`` says whether to try again.
        """
        await self._post(self.report_body(notice), notice.key, "report", delivery_id)

    async def _post(self, body: dict[str, Any], key: str, status: str, delivery: str) -> None:
        headers = {
            "X-Isogate-Alert-Id": key,
            "X-Isogate-Alert-Status": status,
            "X-Isogate-Delivery-Id": delivery,
        }
        content = json.dumps(body, ensure_ascii=False).encode()
        headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            response = await self._client.post(
                self.target(), content=content, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise self._error(f"timed out: {exc!r}", True, "timeout") from exc
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise self._error(f"bad webhook URL: {exc}", False, "url") from exc
        except httpx.TransportError as exc:
            raise self._error(f"connection failed: {exc!r}", True, "transport") from exc
        except httpx.HTTPError as exc:  # e.g. a body that cannot be decoded
            raise self._error(f"request failed: {exc!r}", True, "http") from exc
        self._check(response)

    def _check(self, response: httpx.Response) -> None:
        status = response.status_code
        if status >= 300:
            retryable = status >= 500 or status in (408, 429)
            excerpt = response.text[:200]
            raise self._error(f"HTTP {status}: {excerpt}", retryable, f"http:{status}")
        if self.kind is WebhookKind.JSON:
            return
        # The bots answer 200 for everything and put the verdict in the body.
        try:
            answer = response.json()
            errcode = int(answer["errcode"])
        except (ValueError, KeyError, TypeError) as exc:
            # A proxy's error page, or a URL that is not a bot: worth another try, bounded by
            # the outbox, since a gateway in front of the bot may be restarting.
            raise self._error(f"unexpected answer: {response.text[:200]!r}", True, "body") from exc
        if errcode != 0:
            retryable = errcode in RETRYABLE_ERRCODES[self.kind]
            message = answer.get("errmsg", "")
            raise self._error(f"errcode {errcode}: {message}", retryable, f"errcode:{errcode}")

    def _error(self, detail: str, retryable: bool, code: str) -> DeliveryError:
        # httpx puts the URL into some exception texts, and the URL carries the secret.
        safe = redact(detail.replace(self.url, redact_url(self.url)), self._secrets)
        return DeliveryError(safe, retryable=retryable, channel=self.name, code=code)
