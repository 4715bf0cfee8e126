"""The alert desk: a vulnerable resident's missed reading escalates, and at half the timeout."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.store.records import Writes
from rules.alerts import AlertStatus, AlertType, Raise
from tests.samples import demo_desk

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 21, 0, tzinfo=TZ)
TIMEOUT = timedelta(seconds=120)  # ack_timeout_s


def missed(resident: str, flags: tuple[str, ...]) -> Raise:
    hh = "h1" if resident == "r1" else "h2"
    return Raise(
        AlertType.MISSED_READING, hh, None, T0, "漏测", ("d1", "w3"), resident, vulnerable=flags
    )


def escalated_at(flags: tuple[str, ...], resident: str) -> list[datetime]:
    """Times (every 10 s after the raise) at which the desk escalated the alert."""
    d = demo_desk()
    w = Writes()
    alert = d.apply(missed(resident, flags), T0, w)
    d.install(w)
    assert alert is not None and alert.vulnerable == flags
    moved = []
    for step in range(1, 13):
        now = T0 + timedelta(seconds=10 * step)
        w = Writes()
        if d.escalate_due(now, w):
            moved.append(now)
        d.install(w)
    return moved


def test_a_vulnerable_residents_missed_reading_escalates_at_half_the_timeout():
    """张三 lives alone: his missed reading (a warning) reaches the officer after 60 s and the
    supervisor 60 s later, where an ordinary alert waits 120 s a step."""
    assert escalated_at(("elderly_alone",), "r1") == [T0 + TIMEOUT / 2, T0 + TIMEOUT]


def test_an_ordinary_missed_reading_does_not_escalate():
    assert escalated_at((), "r2") == []


def test_the_escalated_alert_keeps_its_flags_and_status():
    d = demo_desk()
    w = Writes()
    d.apply(missed("r1", ("elderly_alone",)), T0, w)
    d.install(w)
    w = Writes()
    (up,) = d.escalate_due(T0 + TIMEOUT / 2, w)
    assert up.status is AlertStatus.ESCALATED and up.vulnerable == ("elderly_alone",)
    assert d.payload(up)["vulnerable"] == ["elderly_alone"]
