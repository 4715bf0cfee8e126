"""Sample domain values shared by tests of several modules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from gateway.notify.channels import Notification
from gateway.store.records import Alert
from rules.alerts import AlertStatus, AlertType, Severity

ALERT_ID = "01JD3Q7ZK5V8W9X0Y1Z2A3B4C5"

# A night breach at 幸福小区3栋2单元501 for officer p1: 03:12:05 in Shanghai, given in UTC so that
# every text must show the site's local time.
BREACH = Notification(
    alert_id=ALERT_ID,
    type=AlertType.DOOR_BREACH,
    severity=Severity.CRITICAL,
    status=AlertStatus.OPEN,
    household_id="h1",
    address="幸福小区3栋2单元501",
    device_id="door-h1",
    message="门磁: 幸福小区3栋2单元501 03:12 开门，非授权时段",
    raised_at=datetime(2026, 11, 22, 19, 12, 5, tzinfo=UTC),
    escalation_level=0,
    snapshot_url=f"/api/v1/alerts/{ALERT_ID}/snapshot",
    recipient_id="p1",
    recipient_name="赵致远",
    phone="+8613800000002",
)


def breach_alert(at: datetime, **changes: Any) -> Alert:
    """An open door breach at h1 for p1 and w1, raised at ``at``."""
    alert = Alert(
        id="01JD3AAAAAAAAAAAAAAAAAAAAA",
        type=AlertType.DOOR_BREACH,
        severity=Severity.CRITICAL,
        household_id="h1",
        device_id="door-h1",
        status=AlertStatus.OPEN,
        raised_at=at,
        updated_at=at,
        last_seen_at=at,
        count=1,
        recipients=("p1", "w1"),
        escalation_level=0,
        message="门磁: 幸福小区3栋2单元501 03:00 开门，非授权时段",
    )
    return replace(alert, **changes)
