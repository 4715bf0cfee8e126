"""Typed rows that cross the store's boundary: what the pipeline writes, what the API reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.store.care_records import CareWrites
from gateway.store.event_data import EventData
from rules.alerts import AlertStatus, AlertType, Severity


@dataclass(slots=True)
class EventRecord:
    """One accepted event, as the log keeps it; ``data`` is typed by ``kind``.

    Not frozen for speed alone (a frozen dataclass's ``__init__`` costs ~0.16 µs a field, one
    per message on the hot path): it is a value, and nothing changes one once made.
    """

    received_at: datetime
    ts: datetime
    source: str
    topic: str
    device_key: str
    device_id: str | None
    household_id: str | None
    kind: str
    seq: int | None
    report: str | None
    data: EventData
    digest: str
    mid: int | None = None  # the broker's packet id, to tell a redelivery from a repeat
    ts_flag: str | None = None  # why the receipt time stands for the device's (see event_time)


@dataclass(frozen=True, slots=True)
class RejectedRecord:
    """Input that could not be used, and why."""

    received_at: datetime
    source: str
    topic: str
    reason: str
    payload: str
    device_key: str | None = None


@dataclass(frozen=True, slots=True)
class UnknownSighting:
    """A device address heard on a known topic that no household binds."""

    device_key: str
    protocol: str
    address: str
    topic: str
    at: datetime
    payload: str


@dataclass(slots=True)
class DeviceStatus:
    """The last known state of one bound device (a projection of the event log)."""

    device_id: str
    household_id: str
    last_seen: datetime | None = None
    online: bool | None = None
    status_at: datetime | None = None
    battery: int | None = None
    door_open: bool | None = None
    door_changed_at: datetime | None = None
    last_celsius: float | None = None
    last_reading_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """A step of an alert's response plan that somebody ticked (kept in its history)."""

    step: str
    by: str | None
    at: datetime


@dataclass(slots=True)
class Alert:
    """An alert and where it stands."""

    id: str
    type: AlertType
    severity: Severity
    household_id: str
    device_id: str | None
    status: AlertStatus
    raised_at: datetime
    updated_at: datetime
    last_seen_at: datetime
    count: int
    recipients: tuple[str, ...]
    escalation_level: int
    message: str
    next_escalation_at: datetime | None = None
    snapshot: str | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    note: str | None = None
    seen_at: datetime | None = None  # a camera saw someone at the door around it (door_breach)
    resident_id: str | None = None  # the resident it is about (symptom; readings without device)
    vulnerable: tuple[str, ...] = ()  # vulnerability flags of whom it is about (rules/care.py)
    # The response plan's steps ticked so far: read from the history, not a column of its own.
    steps: tuple[Step, ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        """SPEC §3: one active alert per (household, type, device); an alert about a resident
        with no device (a symptom) is keyed by the resident."""
        return (self.household_id, self.type.value, self.device_id or self.resident_id or "")


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """Who did what to an alert, when (append-only)."""

    alert_id: str
    at: datetime
    action: str
    by: str | None = None
    note: str | None = None
    via: str | None = None
    """How a person's action arrived: console, rest, mqtt or link (None: the gateway's own)."""


@dataclass(frozen=True, slots=True)
class UserRecord:
    """One API/console user's token (a name may hold several), without the token."""

    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None
    active_sessions: int
    """Console sessions of this name that are neither ended nor expired."""


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A console session: the cookie holds a random id, the store only its hash."""

    id_hash: str
    user_name: str
    role: str
    csrf: str
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Who read or did what, when, and how it arrived (append-only).

    ``via`` is console, rest, mqtt, cli or link; ``target`` what was read or changed (an alert
    id, a user name); ``household`` the household whose personal data it touched.
    """

    at: datetime
    actor: str
    role: str
    action: str
    via: str
    target: str | None = None
    household: str | None = None
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A notification to deliver: one channel, one recipient, one body."""

    alert_id: str
    channel: str
    recipient: str
    target: str
    body: str
    created_at: datetime
    cancel_on_ack: bool = False
    id: int | None = None
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Handover:
    """A shift handover: the unresolved alerts the incoming watchers took over, and whether
    one of them accepted it (or, nobody having done so in time, when its alerts escalated)."""

    id: str
    at: datetime
    watchers: tuple[str, ...]
    alert_ids: tuple[str, ...]
    accepted_by: str | None = None
    accepted_at: datetime | None = None
    escalated_at: datetime | None = None


@dataclass
class Writes:
    """Everything one pipeline step writes, committed in one transaction."""

    events: list[EventRecord] = field(default_factory=list)
    rejected: list[RejectedRecord] = field(default_factory=list)
    unknown: list[UnknownSighting] = field(default_factory=list)
    devices: dict[str, DeviceStatus] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    new_alert_ids: set[str] = field(default_factory=set)
    history: list[HistoryEntry] = field(default_factory=list)
    outbox: list[OutboxItem] = field(default_factory=list)
    cancel_outbox_for: set[str] = field(default_factory=set)
    meta: dict[str, Any] = field(default_factory=dict)
    handovers: list[Handover] = field(default_factory=list)
    audit: list[AuditEntry] = field(default_factory=list)
    """Who did it, in the same transaction as what they did."""
    handovers_escalated: dict[str, datetime] = field(default_factory=dict)
    care: CareWrites = field(default_factory=CareWrites)
    """The isolation's paperwork written in the same step (gateway/store/care.py)."""
    quiet_news: dict[str, int] = field(default_factory=dict, repr=False)
    """Per alert, where in ``outbox`` this step's item on the all-alerts topic is, while it
    carries a quiet change and is the alert's latest there: a later quiet change in the same
    step takes its place (``gateway.alerting.news``). Not stored."""
    unrendered: dict[int, tuple[Alert, datetime]] = field(default_factory=dict, repr=False)
    """Outbox items whose body is to say a later state of their alert (by position in
    ``outbox``): rendered once, as the step is sealed (``AlertDesk.seal``), not at every
    repeat. The store refuses a step that still has any."""

    def __bool__(self) -> bool:
        return bool(
            self.events
            or self.rejected
            or self.unknown
            or self.devices
            or self.alerts
            or self.history
            or self.outbox
            or self.cancel_outbox_for
            or self.meta
            or self.handovers
            or self.audit
            or self.handovers_escalated
            or bool(self.care)
        )
