"""Time and identity from devices are checked; a flood of junk never holds a door event back."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from gateway.ingest.arrival import Arrival, digest
from gateway.ingest.mqtt import Inbound
from gateway.store import Store, schema
from tests.conftest import Harness

DOOR_OPEN = b'{"type": "door", "open": true}'
DOOR_CLOSED = b'{"type": "door", "open": false}'


def _door(h: Harness) -> str:
    return f"{h.base}/dev/door-h2/event"


async def _breaches(h: Harness) -> list[int]:
    alerts = await h.running.store.list_alerts(type="door_breach")
    return [a.count for a in alerts]


async def test_a_second_identical_opening_marked_dup_is_its_own_event(gateway: Harness):
    """Same bytes, DUP flag, another packet id: a new opening, not a redelivery."""
    ingest, t = gateway.running.ingest, datetime.now(UTC)
    await ingest._settle([Arrival("mqtt", _door(gateway), DOOR_OPEN, t, mid=11)])
    await ingest._settle([Arrival("mqtt", _door(gateway), DOOR_CLOSED, t, mid=12)])
    # The connection dropped before the second opening was acknowledged: it comes again, DUP.
    again = Arrival("mqtt", _door(gateway), DOOR_OPEN, t + timedelta(seconds=5), dup=True, mid=13)
    await ingest._settle([again])
    assert await _breaches(gateway) == [2]
    # A true redelivery (same packet id, same bytes) is stored once.
    await ingest._settle([again])
    events = await gateway.running.store.household_events("h2", kind="door")
    assert len(events) == 3
    assert [e.mid for e in events] == [13, 12, 11]
    assert events[0].digest == digest(_door(gateway), DOOR_OPEN)


async def test_a_device_that_restarts_its_seq_is_not_silenced(gateway: Harness):
    """seq 1..5, reboot, seq 1..3 again with new content: all eight stored; a repeat is not."""
    ingest, t0 = gateway.running.ingest, datetime.now(UTC)

    def beat(seq: int, at: datetime) -> Arrival:
        body = json.dumps({"type": "heartbeat", "seq": seq, "ts": at.timestamp()}).encode()
        return Arrival("mqtt", _door(gateway), body, at)

    first = [beat(i, t0 + timedelta(seconds=i)) for i in range(1, 6)]
    await ingest._settle(first)
    rebooted = [beat(i, t0 + timedelta(seconds=60 + i)) for i in range(1, 4)]
    await ingest._settle(rebooted)
    # A repeat within the new life is a duplicate; the broker's redelivery of the old life's
    # last message (marked DUP) is recognised by its content.
    await ingest._settle([rebooted[2], replace(first[4], dup=True)])
    events = await gateway.running.store.household_events("h2", kind="heartbeat")
    assert sorted(e.seq or 0 for e in events) == [1, 1, 2, 2, 3, 3, 4, 5]


async def test_a_device_clock_reset_to_2000_cannot_move_an_opening_out_of_isolation(
    gateway: Harness,
):
    """An opening stamped 2000-01-01 is judged at its receipt: a breach, flagged."""
    body = json.dumps({"type": "door", "open": True, "ts": 946_684_805}).encode()
    with gateway.link() as link:
        await asyncio.to_thread(link.publish, _door(gateway), body)
        _, alert = await gateway.next_alert(timeout=10)
    assert alert["type"] == "door_breach"
    (event,) = await gateway.running.store.household_events("h2", kind="door")
    assert event.ts_flag == "device_clock_behind"
    assert event.ts > datetime.now(UTC) - timedelta(minutes=5)


async def test_a_flood_of_junk_does_not_hold_a_door_opening_back(gateway: Harness):
    """20,000 junk messages queued ahead of an opening: the breach is decided before them."""
    running = gateway.running
    ingest, store = running.ingest, running.store
    junk = [(f"{gateway.base}/dev/nobody-{i % 500}/event", b"\x00garbage") for i in range(20_000)]
    async with running.pipeline.desk.lock:  # hold ingest while everything queues up
        with gateway.link() as link:
            await asyncio.to_thread(link.publish_many, junk)
            await asyncio.to_thread(link.publish, _door(gateway), DOOR_OPEN)

            async def all_queued() -> bool:
                return len(ingest.lanes) >= 20_000 - 1000

            await gateway.wait_for(all_queued, timeout=30)
    _, alert = await gateway.next_alert(timeout=10)
    assert alert["type"] == "door_breach"
    count = await _rejected_count(store)
    assert count < 10_000, f"{count} junk messages were stored before the breach"


async def _rejected_count(store: Store) -> int:
    async with store.engine.connect() as conn:
        query = sa.select(sa.func.count()).select_from(schema.rejected)
        return int((await conn.execute(query)).scalar_one())


async def test_an_oversized_inbound_is_cut_before_it_is_queued(gateway: Harness):
    """The worker keeps an excerpt of a 1 MB payload, not the megabyte."""
    ingest = gateway.running.ingest
    big = Inbound(_door(gateway), b"x" * 1_000_000, 0, 0, False, datetime.now(UTC))
    async with gateway.running.pipeline.desk.lock:
        ingest.on_message(big)
        assert ingest.lanes.size_bytes < 2000
