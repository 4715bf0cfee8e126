"""Sample domain values shared by tests of several modules."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.alerting.desk import AlertDesk
from gateway.notify.channels import Notification
from gateway.store import Store
from gateway.store import events as events_store
from gateway.store.event_data import DoorData, EventData
from gateway.store.records import Alert, EventRecord, Writes
from rules.alerts import AlertStatus, AlertType, Raise, Severity
from rules.directory import Directory
from rules.site import Site

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


async def check_seq_lookups(store: Store, monkeypatch: Any) -> None:
    """``seq_digests`` and ``newest_by_digest`` on any store: the newest event of each pair,
    pairs never stored left out, and the same answers when split over several queries."""
    at = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

    def event(key: str, seq: int, digest: str) -> EventRecord:
        dev = key.split(":")[1]
        return EventRecord(
            at, at, "mqtt", f"isogate/dev/{dev}/event", key, dev, "h1", "heartbeat", seq, None,
            EventData(), digest,
        )  # fmt: skip

    # A device that restarted its count stored seq 1 twice: the second is the one that counts.
    rows = [("native:a", 1, "1"), ("native:a", 2, "3"), ("native:b", 1, "4"), ("native:a", 1, "2")]
    for key, seq, d in rows:
        await store.commit(Writes(events=[event(key, seq, d * 32)]))
    pairs = [("native:a", 1), ("native:a", 2), ("native:b", 1), ("native:b", 9)]
    expected = {("native:a", 1): "2" * 32, ("native:a", 2): "3" * 32, ("native:b", 1): "4" * 32}
    assert await store.seq_digests(pairs) == expected
    by_digest = [("native:a", "1" * 32), ("native:a", "2" * 32), ("native:a", "4" * 32)]
    newest = await store.newest_by_digest(by_digest, at - timedelta(hours=1))
    assert {k: (mid, t) for k, (_, mid, t) in newest.items()} == {
        ("native:a", "1" * 32): (None, at),
        ("native:a", "2" * 32): (None, at),
    }  # "4" is native:b's
    assert await store.newest_by_digest(by_digest, at + timedelta(seconds=1)) == {}
    monkeypatch.setattr(events_store, "SEQ_LOOKUP_CHUNK", 1)
    assert await store.seq_digests(pairs) == expected
    assert await store.newest_by_digest(by_digest, at - timedelta(hours=1)) == newest


def publish_packet(
    topic: str, payload: bytes, *, qos: int = 1, mid: int = 7, dup: bool = False
) -> bytes:
    """An MQTT 3.1.1 PUBLISH packet as a broker sends it."""
    name = topic.encode()
    variable = struct.pack("!H", len(name)) + name + (struct.pack("!H", mid) if qos else b"")
    rest = variable + payload
    length = bytearray()
    n = len(rest)
    while True:
        byte, n = n % 128, n // 128
        length.append(byte | (0x80 if n else 0))
        if not n:
            break
    return bytes([0x30 | qos << 1 | dup << 3]) + bytes(length) + rest


def door_event(
    t: datetime, seq: int, *, is_open: bool = True, report: str = "change/breach"
) -> EventRecord:
    """An event of h1's native door as the event log keeps it (its digest from ``seq``)."""
    return EventRecord(
        t,
        t,
        "mqtt",
        "isogate/dev/door-h1/event",
        "native:door-h1",
        "door-h1",
        "h1",
        "door",
        seq,
        report,
        DoorData(open=is_open),
        f"{seq:032x}",
    )


def demo_desk() -> AlertDesk:
    """An alert desk over the test site (``tests.conftest.site_doc``), base topic ``isogate``."""
    from tests.conftest import site_doc

    return AlertDesk(Directory.build(Site.model_validate(site_doc())), "isogate")


def breach_raise(household: str, at: datetime) -> Raise:
    """The door rule's decision for a breach at a household's door, for p1 and w1."""
    return Raise(AlertType.DOOR_BREACH, household, f"door-{household}", at, "开门", ("p1", "w1"))


def staged_repeats(
    desk: AlertDesk, household: str, at: datetime, repeats: int
) -> tuple[Writes, Alert]:
    """A breach at ``at`` and ``repeats`` repeats a second apart, staged in one step (not
    sealed): the step's writes and the alert as raised."""
    w = Writes()
    first = desk.apply(breach_raise(household, at), at, w)
    assert first is not None
    for n in range(1, repeats + 1):
        later = at + timedelta(seconds=n)
        desk.apply(breach_raise(household, later), later, w)
    return w, first
