"""What every delivery channel shares: the notification it carries, its one error, its protocol.

A channel makes exactly one delivery attempt per ``send``. Retrying, spacing retries and giving
up belong to the outbox; the channel only says, through ``DeliveryError.retryable``, whether
another attempt could succeed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from rules.alerts import AlertStatus, AlertType, Severity


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True, slots=True)
class Notification:
    """One alert (or an update of it) for one recipient, ready to be rendered by a channel.

    Attributes:
        alert_id: The alert's id (a ULID); stable across its updates.
        type: What happened.
        severity: How urgent.
        status: Where the alert is in its lifecycle; updates are delivered again.
        household_id: The household the alert is about.
        address: The household's address, the "where" of every message.
        device_id: The device that raised it, if any.
        message: The Chinese sentence the rules composed ("what").
        raised_at: When it was raised; must be timezone-aware.
        escalation_level: 0 for the first step of the escalation chain.
        snapshot_url: A snapshot path (relative to the console) or absolute URL, or None.
        recipient_id: The staff id of the person this copy is for.
        recipient_name: Their name, for a greeting in group messages.
        phone: Their phone number in international format, for SMS.
        recipients: Everybody the alert goes to (the SPEC §3 ``recipients``); empty means just
            this recipient.
        alert_url: A signed link to the alert's page (path or absolute URL), or None.
        delivery_id: The outbox's id of this delivery, sent along so receivers can drop
            duplicates of a retried delivery; None derives one from the alert and recipient.
        acked_by, acked_at, resolved_by, resolved_at, note: who acted on the alert, when, and
            what they said (SPEC §3: updates carry who acted).
    """

    alert_id: str
    type: AlertType
    severity: Severity
    status: AlertStatus
    household_id: str
    address: str
    device_id: str | None
    message: str
    raised_at: datetime
    escalation_level: int
    snapshot_url: str | None
    recipient_id: str
    recipient_name: str | None = None
    phone: str | None = None
    recipients: tuple[str, ...] = field(default=())
    alert_url: str | None = None
    delivery_id: str | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None

    def __post_init__(self) -> None:
        # A naive time would be rendered in whatever zone the host happens to run in.
        if self.raised_at.tzinfo is None or self.raised_at.utcoffset() is None:
            raise ValueError("Notification.raised_at must be timezone-aware")
        if self.escalation_level < 0:
            raise ValueError("Notification.escalation_level must not be negative")

    @property
    def delivery_key(self) -> str:
        """The idempotency key of this delivery: the outbox's id, or one derived from the alert.

        The derived key changes with status and escalation level, because each of those is a
        message the recipient must see, and stays the same across retries of one of them.
        """
        if self.delivery_id:
            return self.delivery_id
        return f"{self.alert_id}:{self.status.value}:{self.escalation_level}:{self.recipient_id}"

    @property
    def all_recipients(self) -> tuple[str, ...]:
        """The ``recipients`` list of the SPEC §3 alert JSON."""
        return self.recipients or (self.recipient_id,)

    def to_json(self) -> str:
        """The notification as the outbox stores it (``from_json`` reads it back).

        The keys are the field names; ``delivery_id`` is left out because the outbox row's own
        id is that, and it is not known before the row is written.
        """
        doc = {
            "alert_id": self.alert_id,
            "type": self.type.value,
            "severity": self.severity.value,
            "status": self.status.value,
            "household_id": self.household_id,
            "address": self.address,
            "device_id": self.device_id,
            "message": self.message,
            "raised_at": self.raised_at.isoformat(),
            "escalation_level": self.escalation_level,
            "snapshot_url": self.snapshot_url,
            "recipient_id": self.recipient_id,
            "recipient_name": self.recipient_name,
            "phone": self.phone,
            "recipients": list(self.recipients),
            "alert_url": self.alert_url,
            "acked_by": self.acked_by,
            "acked_at": self.acked_at and self.acked_at.isoformat(),
            "resolved_by": self.resolved_by,
            "resolved_at": self.resolved_at and self.resolved_at.isoformat(),
            "note": self.note,
        }
        return json.dumps(doc, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str, delivery_id: str | None = None) -> Notification:
        """Read a notification written by ``to_json`` (rows of older versions too).

        Args:
            text: The stored JSON.
            delivery_id: The outbox row's id, the idempotency key receivers see.

        Raises:
            ValueError: not a notification (bad JSON, a missing field, a bad value).
        """
        try:
            d: dict[str, Any] = json.loads(text)
            return cls(
                alert_id=d["alert_id"],
                type=AlertType(d["type"]),
                severity=Severity(d["severity"]),
                status=AlertStatus(d["status"]),
                household_id=d["household_id"],
                address=d.get("address") or d["household_id"],
                device_id=d.get("device_id"),
                message=d["message"],
                raised_at=datetime.fromisoformat(d["raised_at"]),
                escalation_level=int(d.get("escalation_level", 0)),
                snapshot_url=d.get("snapshot_url"),
                recipient_id=d["recipient_id"],
                recipient_name=d.get("recipient_name"),
                phone=d.get("phone"),
                recipients=tuple(d.get("recipients") or ()),
                alert_url=d.get("alert_url"),
                delivery_id=delivery_id,
                acked_by=d.get("acked_by"),
                acked_at=_time(d.get("acked_at")),
                resolved_by=d.get("resolved_by"),
                resolved_at=_time(d.get("resolved_at")),
                note=d.get("note"),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a stored notification: {exc!r}") from exc


class DeliveryError(Exception):
    """One delivery attempt failed.

    Attributes:
        detail: What went wrong, for the log and the outbox row.
        retryable: True when a later attempt may succeed (timeouts, 5xx, rate limits, a modem
            that went away); False when only a configuration change can help (a bad URL, a
            rejected signature, a recipient without a phone).
        channel: The name of the channel that failed.
        code: A short machine-readable cause, e.g. ``http:503``, ``errcode:45009``, ``cms:38``.
    """

    def __init__(
        self, detail: str, *, retryable: bool, channel: str = "", code: str | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable
        self.channel = channel
        self.code = code

    def __str__(self) -> str:
        where = f"{self.channel}: " if self.channel else ""
        kind = "retryable" if self.retryable else "permanent"
        code = f" [{self.code}]" if self.code else ""
        return f"{where}{self.detail}{code} ({kind})"

    def __repr__(self) -> str:
        return (
            f"DeliveryError({self.detail!r}, retryable={self.retryable!r}, "
            f"channel={self.channel!r}, code={self.code!r})"
        )


@runtime_checkable
class Channel(Protocol):
    """A way to reach a person or a group: one attempt per call, ``DeliveryError`` on failure."""

    name: str

    async def send(self, n: Notification) -> None:
        """Deliver ``n`` once.

        Raises:
            DeliveryError: the attempt failed; ``retryable`` tells the outbox whether to retry.
        """
        ...
