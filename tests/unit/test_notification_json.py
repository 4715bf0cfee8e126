"""A notification's stored JSON: written and read by the model, old rows still readable."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from gateway.notify.channels import Notification
from gateway.notify.delivery import notice_status, notification
from gateway.store.records import OutboxItem
from rules.alerts import AlertStatus
from tests.samples import BREACH

# A row as the desk wrote it before the model owned its JSON: the fields one by one.
OLD_ROW = {
    "alert_id": BREACH.alert_id,
    "type": "door_breach",
    "severity": "critical",
    "status": "open",
    "household_id": "h1",
    "address": "幸福小区3栋2单元501",
    "device_id": "door-h1",
    "message": BREACH.message,
    "raised_at": "2026-11-22T19:12:05+00:00",
    "escalation_level": 0,
    "snapshot_url": BREACH.snapshot_url,
    "recipient_id": "p1",
    "recipient_name": "赵致远",
    "phone": "+8613800000002",
    "recipients": ["p1", "w1"],
}


def _item(body: str) -> OutboxItem:
    return OutboxItem(BREACH.alert_id, "sms", "p1", "+8613800000002", body, BREACH.raised_at, id=7)


def test_a_notification_reads_back_as_it_was_written() -> None:
    """to_json then from_json gives the same notification, with the outbox id as delivery id."""
    n = replace(BREACH, recipients=("p1", "w1"), status=AlertStatus.ESCALATED, escalation_level=1)
    assert Notification.from_json(n.to_json(), "7") == replace(n, delivery_id="7")
    assert notification(_item(n.to_json())) == replace(n, delivery_id="7")


def test_a_row_written_before_the_model_owned_its_json_is_still_read() -> None:
    """The field-by-field JSON of older rows becomes the same notification."""
    n = Notification.from_json(json.dumps(OLD_ROW, ensure_ascii=False))
    assert n == replace(BREACH, recipients=("p1", "w1"))
    assert n.raised_at == datetime(2026, 11, 22, 19, 12, 5, tzinfo=UTC)


def test_a_body_that_is_not_a_notification_is_refused() -> None:
    """A missing field or a bad status is a ValueError, not a half-built notification."""
    with pytest.raises(ValueError, match="AlertStatus"):
        Notification.from_json(json.dumps({**OLD_ROW, "status": "gone"}))
    missing = {k: v for k, v in OLD_ROW.items() if k != "recipient_id"}
    with pytest.raises(ValueError, match="not a stored notification"):
        Notification.from_json(json.dumps(missing))


def test_the_outbox_reads_the_status_of_either_body() -> None:
    """Both the channel body and the MQTT alert JSON say which status they announce."""
    assert notice_status(_item(BREACH.to_json())) is AlertStatus.OPEN
    assert notice_status(_item('{"id": "x", "status": "acknowledged"}')) is AlertStatus.ACKNOWLEDGED
    assert notice_status(_item('{"id": "x"}')) is None


def test_who_acted_is_kept_and_the_webhook_json_carries_it() -> None:
    """An acknowledged-then-resolved notification keeps who acted, when and the note, and the
    generic webhook's SPEC §3 JSON shows them in the site's time."""
    from zoneinfo import ZoneInfo

    from gateway.notify.channels.webhook import alert_json

    at = datetime(2026, 11, 22, 19, 20, tzinfo=UTC)
    n = replace(
        BREACH,
        status=AlertStatus.RESOLVED,
        acked_by="w1",
        acked_at=at,
        resolved_by="p1",
        resolved_at=at,
        note="邻居开门取快递",
    )
    assert Notification.from_json(n.to_json()) == n
    body = alert_json(n, ZoneInfo("Asia/Shanghai"))
    assert (body["acked_by"], body["resolved_by"], body["note"]) == ("w1", "p1", "邻居开门取快递")
    assert body["acked_at"] == "2026-11-23T03:20:00.000+08:00"
    assert alert_json(BREACH, ZoneInfo("Asia/Shanghai"))["acked_by"] is None
