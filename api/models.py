"""What the API answers, as pydantic models: ``/api/docs`` documents every response from them.

Field names are the wire's (SPEC §3 for alerts); times are ISO 8601 text as the gateway has
always written them (alerts in the site's timezone, to the millisecond).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from rules.alerts import AlertStatus, AlertType, Severity
from rules.site import Period, Resident, VisitWindow


class StatusFilter(StrEnum):
    """``?status=`` of the alert list: a status, ``open``/``active`` for every alert nobody
    acknowledged yet (escalated included), ``unresolved`` for those and the acknowledged ones."""

    UNRESOLVED = "unresolved"
    OPEN = "open"
    ACTIVE = "active"
    ESCALATED = "escalated"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class ErrorOut(BaseModel):
    """Why a request was refused."""

    detail: str = Field(description="what went wrong, for people")


class PartOut(BaseModel):
    """One part of the gateway and whether it works."""

    name: str = Field(description="broker, database, ingest, task:<name>, check:<what>")
    ok: bool
    reason: str | None = Field(description="why it is down; null when up")
    since: str = Field(
        description="when it last changed", json_schema_extra={"format": "date-time"}
    )


class HealthOut(BaseModel):
    """``/healthz``: every part, and whether all are up (then 200, else 503)."""

    ok: bool
    parts: list[PartOut]
    role: str = Field(
        "active",
        description="active, or standby (the other gateway of a pair holds the lease; 503)",
    )
    epoch: int | None = Field(
        None, description="the lease epoch held (active) or last seen held (standby); null alone"
    )


class StepOut(BaseModel):
    """A step of the response plan somebody ticked."""

    step: str = Field(description="the step's key, as GET /api/v1/plans names it")
    by: str | None
    at: str = Field(json_schema_extra={"format": "date-time"})


class AlertOut(BaseModel):
    """An alert as SPEC §3 publishes it, with who acted on it."""

    id: str
    type: AlertType
    severity: Severity
    household: str
    address: str | None
    device: str | None
    raised_at: str = Field(json_schema_extra={"format": "date-time"})
    status: AlertStatus
    recipients: list[str]
    escalation_level: int
    message: str
    snapshot: str | None = Field(description="link to the snapshot; null when there is none")
    seen_by_camera: bool = Field(
        False, description="a camera saw someone at the door around this door opening"
    )
    count: int = Field(description="how many times it happened while active")
    updated_at: str = Field(json_schema_extra={"format": "date-time"})
    acked_by: str | None
    acked_at: str | None = Field(json_schema_extra={"format": "date-time"})
    resolved_by: str | None
    resolved_at: str | None = Field(json_schema_extra={"format": "date-time"})
    note: str | None
    steps: list[StepOut] = Field(description="response-plan steps ticked, oldest first")
    vulnerable: list[str] = Field(
        default_factory=list,
        description="vulnerability flags of whom it is about: elderly_alone, chronic_illness, "
        "pregnancy, dialysis",
    )


class HistoryOut(BaseModel):
    """One step in an alert's life."""

    at: str = Field(json_schema_extra={"format": "date-time"})
    action: str = Field(
        description="raised, repeated, escalated, acknowledged, resolved, step, accepted"
    )
    by: str | None
    note: str | None
    via: str | None = Field(None, description="how a person's action arrived: console, rest, mqtt")


class DeliveryOut(BaseModel):
    """Where one notice of an alert stands, per channel and recipient."""

    channel: str
    recipient: str
    target: str
    state: str = Field(description="pending, delivered, failed, cancelled")
    attempts: int
    delivered_at: str | None = Field(json_schema_extra={"format": "date-time"})
    last_error: str | None


class AlertDetailOut(AlertOut):
    """An alert with its history and deliveries."""

    history: list[HistoryOut]
    deliveries: list[DeliveryOut]


class RejectedOut(BaseModel):
    """Input the gateway could not use, and why (SPEC §2.6)."""

    received_at: str = Field(json_schema_extra={"format": "date-time"})
    source: str
    topic: str
    device: str | None
    reason: str
    payload: str = Field(description="a printable excerpt")


class UnknownOut(BaseModel):
    """A device heard on a known topic that no household binds."""

    device_key: str
    protocol: str
    address: str
    topic: str
    first_seen: str = Field(json_schema_extra={"format": "date-time"})
    last_seen: str = Field(json_schema_extra={"format": "date-time"})
    count: int
    last_payload: str


class HouseholdBrief(BaseModel):
    """A household in the list."""

    id: str
    address: str
    residents: list[str] = Field(description="the residents' names")


class DeviceBrief(BaseModel):
    """A device's health in the household grid (null: never heard)."""

    id: str
    kind: str
    online: bool | None
    battery: int | None
    last_seen: str | None = Field(json_schema_extra={"format": "date-time"})


class HouseholdRow(BaseModel):
    """A household in the watcher's grid: door, temperature, devices, snapshot, open alerts."""

    id: str
    address: str
    residents: list[str] = Field(description="the residents' names")
    door_open: bool | None = Field(description="any door open; null: no door heard yet")
    door_at: str | None = Field(
        description="when a door last changed", json_schema_extra={"format": "date-time"}
    )
    last_celsius: float | None = Field(description="the latest body temperature reading")
    last_celsius_at: str | None = Field(json_schema_extra={"format": "date-time"})
    devices: list[DeviceBrief]
    snapshot: str | None = Field(description="link to the latest snapshot; null when none")
    open_alerts: int = Field(description="unresolved alerts, acknowledged ones included")
    worst_severity: Severity | None = Field(description="of the unresolved alerts")


class DeviceOut(BaseModel):
    """A bound device and its last known state (null: never heard)."""

    id: str
    kind: str
    protocol: str
    address: str | None
    last_seen: str | None = Field(json_schema_extra={"format": "date-time"})
    online: bool | None
    battery: int | None
    door_open: bool | None
    last_celsius: float | None


class HouseholdOut(BaseModel):
    """A household as the site file sets it up, its devices' state and its open alerts."""

    id: str
    address: str
    residents: list[Resident]
    officer: str | None
    doctor: str | None
    technician: str | None
    supervisor: str | None
    isolation: Period | None
    visits: list[VisitWindow]
    devices: list[DeviceOut]
    alerts: list[AlertOut]


class EventOut(BaseModel):
    """One accepted event of a household's log."""

    ts: str = Field(json_schema_extra={"format": "date-time"})
    received_at: str = Field(json_schema_extra={"format": "date-time"})
    device: str | None
    kind: str = Field(description="door, temperature, heartbeat, status, tamper, frame")
    report: str | None = Field(description="what the rules made of it")
    data: dict[str, Any] = Field(
        description="per kind: open (door); celsius, body_site (temperature); online (status); "
        "bytes (frame); and battery, tamper, device_ts when the device said them"
    )


class ReadingOut(BaseModel):
    """One body temperature reading."""

    ts: str = Field(json_schema_extra={"format": "date-time"})
    device: str | None
    resident: str | None
    celsius: float | None
