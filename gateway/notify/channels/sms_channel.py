"""Alerts as SMS: the channel that renders a notice and hands its parts to a modem."""

from __future__ import annotations

import logging
from datetime import tzinfo
from typing import Protocol

from gateway.notify.channels.base import DeliveryError, Notification
from gateway.notify.channels.text import SMS_LIMIT, sms_text, split_sms, ucs2_safe

log = logging.getLogger(__name__)


class SmsModem(Protocol):
    """What ``SmsChannel`` needs of a modem."""

    async def send_sms(self, number: str, text: str) -> int:
        """Send one single-part SMS and return its message reference."""
        ...


class SmsChannel:
    """Alerts as SMS to the recipient's phone, split into parts of one UCS2 message each."""

    name = "sms"

    def __init__(
        self, modem: SmsModem, *, tz: tzinfo, base_url: str, limit: int = SMS_LIMIT
    ) -> None:
        """Configure the channel.

        Args:
            modem: An entered ``GsmModem`` (or anything with ``send_sms``).
            tz: The site's zone for the time in the text.
            base_url: The console's public base URL for snapshot links.
            limit: UTF-16 units per message.
        """
        self._modem = modem
        self._tz = tz
        self._base_url = base_url
        self._limit = limit
        # Parts already sent per delivery: a retry after part 2 of 3 failed resends only 2 and 3.
        self._progress: dict[str, int] = {}

    def parts(self, n: Notification) -> list[str]:
        """The SMS parts for ``n``, in sending order."""
        text = ucs2_safe(sms_text(n, tz=self._tz, base_url=self._base_url))
        return split_sms(text, self._limit)

    async def send(self, n: Notification) -> None:
        """Send ``n`` to ``n.phone`` as one or more SMS.

        Raises:
            DeliveryError: no phone (permanent), or a part failed (see ``GsmModem.send_sms``).
        """
        await self._send_parts(n.phone, self.parts(n), n.delivery_key)

    async def send_text(self, phone: str | None, text: str, key: str) -> None:
        """Send a text (a report's summary) to ``phone``; ``key`` names this delivery so that a
        retry resends only the parts not sent yet.

        Raises:
            DeliveryError: no phone (permanent), or a part failed.
        """
        await self._send_parts(phone, split_sms(ucs2_safe(text), self._limit), key)

    async def _send_parts(self, phone: str | None, parts: list[str], key: str) -> None:
        if not phone:
            raise DeliveryError("no phone", retryable=False, channel=self.name, code="no-phone")
        for index in range(self._progress.get(key, 0), len(parts)):
            await self._modem.send_sms(phone, parts[index])
            self._progress[key] = index + 1
            # Bounded memory: forget the oldest half-sent delivery first.
            if len(self._progress) > 256:
                del self._progress[next(iter(self._progress))]
        self._progress.pop(key, None)
