"""Delivery channels for alerts: webhooks (JSON, WeCom, DingTalk) and SMS through a GSM modem.

Each channel makes one attempt per ``send`` and raises ``DeliveryError`` (with ``retryable``)
on failure; the outbox decides about retries.
"""

from gateway.notify.channels.base import Channel, DeliveryError, Notification
from gateway.notify.channels.sms import GsmModem, cms_retryable, ucs2_hex
from gateway.notify.channels.sms_channel import SmsChannel
from gateway.notify.channels.text import (
    SMS_LIMIT,
    markdown_text,
    markdown_title,
    plain_text,
    sms_text,
    split_sms,
    ucs2_safe,
    utf16_len,
)
from gateway.notify.channels.webhook import WebhookChannel, WebhookKind, alert_json, dingtalk_sign

__all__ = [
    "SMS_LIMIT",
    "Channel",
    "DeliveryError",
    "GsmModem",
    "Notification",
    "SmsChannel",
    "WebhookChannel",
    "WebhookKind",
    "alert_json",
    "cms_retryable",
    "dingtalk_sign",
    "markdown_text",
    "markdown_title",
    "plain_text",
    "sms_text",
    "split_sms",
    "ucs2_hex",
    "ucs2_safe",
    "utf16_len",
]
