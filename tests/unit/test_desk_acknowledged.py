"""The alert desk: the end of a condition resolves its alert even once acknowledged."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.alerting.desk import AlertDesk
from gateway.store.records import Alert, Writes
from rules.alerts import AlertStatus, AlertType, Clear, Raise
from tests.samples import demo_desk as desk

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 3, 0, tzinfo=TZ)


def commit(d: AlertDesk, change: Callable[[Writes], Alert | None]) -> Alert:
    """Stage a change into fresh writes and install them as a committed transaction would."""
    w = Writes()
    alert = change(w)
    d.install(w)
    assert isinstance(alert, Alert)
    return alert


def left_open(at: datetime) -> Raise:
    return Raise(AlertType.DOOR_LEFT_OPEN, "h1", "door-h1", at, "门已开启2分钟未关", ("w1", "p1"))


def closed(at: datetime) -> Clear:
    return Clear(AlertType.DOOR_LEFT_OPEN, "h1", "door-h1", at, "门已关闭")


def test_closing_the_door_resolves_an_acknowledged_left_open():
    """Raised, acknowledged by w1, then the door closes: the alert is resolved by the system."""
    d = desk()
    raised = commit(d, lambda w: d.apply(left_open(T0), T0, w))
    commit(d, lambda w: d.ack(raised, "w1", T0 + timedelta(seconds=30), w))
    done = commit(d, lambda w: d.apply(closed(T0 + timedelta(minutes=5)), T0, w))
    assert done.id == raised.id
    assert done.status is AlertStatus.RESOLVED
    assert done.resolved_by == "system"
    w = Writes()
    assert d.apply(closed(T0 + timedelta(minutes=6)), T0, w) is None  # nothing left to resolve


def test_an_acknowledged_alert_restored_from_the_store_is_resolved_by_its_clear():
    """After a restart the desk knows the acknowledged alert: the close resolves it."""
    first = desk()
    raised = commit(first, lambda w: first.apply(left_open(T0), T0, w))
    acked = commit(first, lambda w: first.ack(raised, "w1", T0, w))
    d = desk()
    d.restore([acked])
    assert d.active() == []
    done = commit(d, lambda w: d.apply(closed(T0 + timedelta(minutes=5)), T0, w))
    assert (done.id, done.status) == (raised.id, AlertStatus.RESOLVED)


def test_a_new_opening_after_an_acknowledged_breach_is_a_new_alert():
    """SPEC §3: after an acknowledgement the next breach is a new alert, not a repeat."""
    d = desk()
    breach = Raise(AlertType.DOOR_BREACH, "h1", "door-h1", T0, "开门", ("p1", "w1"))
    first = commit(d, lambda w: d.apply(breach, T0, w))
    commit(d, lambda w: d.ack(first, "p1", T0, w))
    later = T0 + timedelta(minutes=10)
    second = commit(d, lambda w: d.apply(replace(breach, at=later), later, w))
    assert second.id != first.id
    assert (second.status, second.count) == (AlertStatus.OPEN, 1)
