"""Rows ↔ records: how the store's tables hold the gateway's typed records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.clock import epoch, from_epoch
from gateway.store import schema
from gateway.store.event_data import event_data_from_json
from gateway.store.records import Alert, DeviceStatus, EventRecord, OutboxItem, RejectedRecord
from rules.alerts import AlertStatus, AlertType, Severity


def to_time(value: float | None) -> datetime | None:
    """An aware time from a stored epoch (None stays None)."""
    return None if value is None else from_epoch(value)


def to_epoch(value: datetime | None) -> float | None:
    """A stored epoch from an aware time (None stays None)."""
    return None if value is None else epoch(value)


EVENT_KEYS = tuple(c.name for c in schema.events.columns if not c.primary_key)
"""The columns an event log row gives, in the table's order, which :func:`event_values` keeps."""


def event_values(e: EventRecord) -> tuple[Any, ...]:
    """An event log row as its values in ``EVENT_KEYS`` order (every event of a step is one:
    a tuple is made in a third of the time of a dict). Its ``data`` is the :class:`EventData`
    itself, which the planned statement binds as its JSON (``gateway.store.plan.EventDataJSON``).
    """
    return (
        epoch(e.received_at),
        epoch(e.ts),
        e.source,
        e.topic,
        e.device_key,
        e.device_id,
        e.household_id,
        e.kind,
        e.seq,
        e.report,
        e.data,
        e.digest,
        e.mid,
        e.ts_flag,
    )


def event_from(r: Any) -> EventRecord:
    """An event record from its row."""
    return EventRecord(
        from_epoch(r["received_at"]),
        from_epoch(r["ts"]),
        r["source"],
        r["topic"],
        r["device_key"],
        r["device_id"],
        r["household_id"],
        r["kind"],
        r["seq"],
        r["report"],
        event_data_from_json(r["kind"], r["data"]),
        r["digest"],
        r["mid"],
        r["ts_flag"],
    )


def rejected_row(r: RejectedRecord) -> dict[str, Any]:
    """A rejected-list row."""
    return {
        "received_at": epoch(r.received_at),
        "source": r.source,
        "topic": r.topic[:512],
        "reason": r.reason[:512],
        "payload": r.payload,
        "device_key": r.device_key,
    }


def alert_row(a: Alert) -> dict[str, Any]:
    """An alerts row; ``active_key`` is set only while the alert is active."""
    return {
        "id": a.id,
        "type": a.type.value,
        "severity": a.severity.value,
        "household_id": a.household_id,
        "device_id": a.device_id,
        "active_key": "|".join(a.key) if a.status.is_active else None,
        "status": a.status.value,
        "raised_at": epoch(a.raised_at),
        "updated_at": epoch(a.updated_at),
        "last_seen_at": epoch(a.last_seen_at),
        "count": a.count,
        "recipients": list(a.recipients),
        "escalation_level": a.escalation_level,
        "next_escalation_at": to_epoch(a.next_escalation_at),
        "message": a.message,
        "snapshot": a.snapshot,
        "acked_by": a.acked_by,
        "acked_at": to_epoch(a.acked_at),
        "resolved_by": a.resolved_by,
        "resolved_at": to_epoch(a.resolved_at),
        "note": a.note,
        "seen_at": to_epoch(a.seen_at),
        "resident_id": a.resident_id,
        "vulnerable": list(a.vulnerable) or None,
    }


def alert_from(r: Any) -> Alert:
    """An alert from its row."""
    return Alert(
        id=r["id"],
        type=AlertType(r["type"]),
        severity=Severity(r["severity"]),
        household_id=r["household_id"],
        device_id=r["device_id"],
        status=AlertStatus(r["status"]),
        raised_at=from_epoch(r["raised_at"]),
        updated_at=from_epoch(r["updated_at"]),
        last_seen_at=from_epoch(r["last_seen_at"]),
        count=r["count"],
        recipients=tuple(r["recipients"]),
        escalation_level=r["escalation_level"],
        message=r["message"],
        next_escalation_at=to_time(r["next_escalation_at"]),
        snapshot=r["snapshot"],
        acked_by=r["acked_by"],
        acked_at=to_time(r["acked_at"]),
        resolved_by=r["resolved_by"],
        resolved_at=to_time(r["resolved_at"]),
        note=r["note"],
        seen_at=to_time(r["seen_at"]),
        resident_id=r["resident_id"],
        vulnerable=tuple(r["vulnerable"] or ()),
    )


def device_row(d: DeviceStatus) -> dict[str, Any]:
    """A device-state row."""
    return {
        "device_id": d.device_id,
        "household_id": d.household_id,
        "last_seen": to_epoch(d.last_seen),
        "online": d.online,
        "status_at": to_epoch(d.status_at),
        "battery": d.battery,
        "door_open": d.door_open,
        "door_changed_at": to_epoch(d.door_changed_at),
        "last_celsius": d.last_celsius,
        "last_reading_at": to_epoch(d.last_reading_at),
    }


def device_from(r: Any) -> DeviceStatus:
    """A device's last known state from its row."""
    return DeviceStatus(
        device_id=r["device_id"],
        household_id=r["household_id"],
        last_seen=to_time(r["last_seen"]),
        online=r["online"],
        status_at=to_time(r["status_at"]),
        battery=r["battery"],
        door_open=r["door_open"],
        door_changed_at=to_time(r["door_changed_at"]),
        last_celsius=r["last_celsius"],
        last_reading_at=to_time(r["last_reading_at"]),
    )


def outbox_row(o: OutboxItem) -> dict[str, Any]:
    """A new outbox row, due at once."""
    return {
        "alert_id": o.alert_id,
        "channel": o.channel,
        "recipient": o.recipient,
        "target": o.target,
        "body": o.body,
        "created_at": epoch(o.created_at),
        "next_attempt_at": epoch(o.created_at),
        "attempts": o.attempts,
        "state": "pending",
        "cancel_on_ack": o.cancel_on_ack,
    }


def outbox_from(r: Any) -> OutboxItem:
    """An outbox item from its row."""
    return OutboxItem(
        alert_id=r["alert_id"],
        channel=r["channel"],
        recipient=r["recipient"],
        target=r["target"],
        body=r["body"],
        created_at=from_epoch(r["created_at"]),
        cancel_on_ack=r["cancel_on_ack"],
        id=r["id"],
        attempts=r["attempts"],
    )
