"""No message stops ingest: poison over the real broker, a row the database refuses, an outage."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from gateway import metrics
from gateway.ingest.arrival import Arrival
from tests.conftest import Harness, eventually, lock_sqlite

DOOR_OPEN = json.dumps({"type": "door", "open": True}).encode()
DOOR_CLOSED = json.dumps({"type": "door", "open": False}).encode()

# Each of these stopped ingest for every household before: the batch holding it was retried
# forever and never acknowledged.
DOOR = "dev/door-h2/event"
POISON = {
    "huge integer": (DOOR, b'{"type": "door", "open": true, "seq": ' + b"9" * 5000 + b"}"),
    "seq at 2^63": (DOOR, b'{"type": "door", "open": true, "seq": 9223372036854775808}'),
    "deep nesting on availability": (
        "z2m:h1/front door/availability",
        b"[" * 100_000 + b"]" * 100_000,
    ),
    "deep nesting on the ack topic": (
        "ack/01ZZZZZZZZZZZZZZZZZZZZZZZZ",
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    ),
    "NaN": (DOOR, b'{"type": "heartbeat", "battery": NaN}'),
    "not UTF-8": (DOOR, b"\xff\xfe\x00garbage"),
    "long topic": ("dev/" + "x" * 3000 + "/event", DOOR_OPEN),
}


def _topic(h: Harness, name: str) -> str:
    if name.startswith("z2m:"):
        return f"{h.z2m}/{name[4:]}"
    return f"{h.base}/{name}"


async def _door_events(h: Harness, household: str) -> int:
    return len(await h.running.store.household_events(household, kind="door"))


async def test_poison_messages_are_rejected_and_a_breach_still_alerts(gateway: Harness):
    """Every poison message ends in the rejected list with its reason; the next opening alerts."""
    with gateway.link() as link:
        for topic, payload in POISON.values():
            await asyncio.to_thread(link.publish, _topic(gateway, topic), payload)
        await asyncio.to_thread(link.publish, f"{gateway.base}/dev/door-h2/event", DOOR_OPEN)
        _, alert = await gateway.next_alert(timeout=10)
    assert alert["type"] == "door_breach" and alert["household"] == "h2"
    store = gateway.running.store

    async def all_set_aside() -> bool:
        # The opening may be decided before junk in the bulk lane (a long unbound topic).
        return len(await store.list_rejected()) >= len(POISON)

    await gateway.wait_for(all_set_aside, timeout=10)
    rejected = await store.list_rejected()
    assert all(r.reason for r in rejected)
    assert all(len(r.topic) <= 512 for r in rejected)
    async with httpx.AsyncClient() as client:
        health = await client.get(f"http://127.0.0.1:{gateway.running.http_port}/healthz")
    assert health.status_code == 200


async def test_a_payload_over_the_limit_is_rejected_with_its_size(gateway: Harness):
    """A 5 MB payload is kept as an excerpt with its size (the shipped broker config refuses
    messages over 8 MiB before they reach the gateway)."""
    with gateway.link() as link:
        big = b'{"type": "door", "open": true, "pad": "' + b"x" * 5_000_000 + b'"}'
        await asyncio.to_thread(link.publish, f"{gateway.base}/dev/door-h2/event", big)
        await asyncio.to_thread(link.publish, f"{gateway.base}/dev/door-h2/event", DOOR_OPEN)
        await gateway.next_alert(timeout=10)
    rejected = await gateway.running.store.list_rejected()
    assert any(f"{len(big)} bytes is over the 65536-byte limit" in r.reason for r in rejected)
    assert all(len(r.payload) < 2000 for r in rejected)


@contextlib.asynccontextmanager
async def refuse_topics_containing(db: Path, marker: str) -> AsyncIterator[None]:
    """A database that refuses one kind of row: a trigger aborting its insert.

    Made off the event loop, as ``lock_sqlite`` takes its lock: the gateway runs in this
    process, and a transaction it has open when the test begins finishes only on the loop. A
    trigger made on the loop's thread waited for that transaction while blocking it, until
    sqlite3's lock timeout ran out ("database is locked", once in a CI run on a loaded machine).
    """

    def run(sql: str) -> None:
        with contextlib.closing(sqlite3.connect(db, timeout=30)) as con:
            con.execute(sql)
            con.commit()

    await asyncio.to_thread(
        run,
        "CREATE TRIGGER refuse BEFORE INSERT ON events "
        f"WHEN NEW.topic LIKE '%{marker}%' BEGIN SELECT RAISE(ABORT, 'refused by test'); END",
    )
    try:
        yield
    finally:
        await asyncio.to_thread(run, "DROP TRIGGER refuse")


async def test_a_row_the_database_refuses_is_set_aside_and_the_rest_commits(gateway: Harness):
    """The batch is split around the refused message: 20 events stored, 1 rejected, 1 breach."""
    now = datetime.now(UTC)
    base = gateway.base
    arrivals = [
        Arrival("mqtt", f"{base}/dev/therm-r2/event", b'{"type": "heartbeat"}', now, mid=i)
        for i in range(20)
    ]
    poison = Arrival("mqtt", f"{base}/dev/door-h2/event", DOOR_CLOSED, now, mid=999)
    arrivals.insert(7, poison)
    arrivals.append(Arrival("mqtt", f"{base}/dev/door-h2/event", DOOR_OPEN, now, mid=1000))
    db = gateway.settings.data_dir / "isogate.db"
    async with refuse_topics_containing(db, "door-h2/event"):
        # Only the door rows are refused: the heartbeats commit, the doors are set aside.
        await gateway.running.ingest._settle(arrivals)
    store = gateway.running.store
    assert len(await store.household_events("h2", kind="heartbeat")) == 20
    reasons = [r.reason for r in await store.list_rejected()]
    assert sum("refused by test" in r for r in reasons) == 2
    # With the database accepting again, the next opening alerts as usual.
    with gateway.link() as link:
        await asyncio.to_thread(link.publish, f"{base}/dev/door-h2/event", DOOR_CLOSED)
        await asyncio.to_thread(link.publish, f"{base}/dev/door-h2/event", DOOR_OPEN)
        _, alert = await gateway.next_alert(timeout=10)
    assert alert["type"] == "door_breach"


async def test_an_outage_is_waited_out_not_rejected(gateway: Harness):
    """While the database is locked nothing is acknowledged or rejected; then the breach alerts."""
    gateway.running.ingest.stall_s = 1.0
    url = f"http://127.0.0.1:{gateway.running.http_port}/healthz"
    accepted = metrics.MESSAGES.labels("accepted")
    accepted_before = accepted._value.get()
    lock = await lock_sqlite(gateway)
    try:
        with gateway.link() as link:
            await asyncio.to_thread(link.publish, f"{gateway.base}/dev/door-h2/event", DOOR_OPEN)
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                answer = await client.get(url)
                if answer.status_code == 503 and "ingest" in answer.text:
                    break
                await asyncio.sleep(0.05)
        assert answer.status_code == 503
    finally:
        lock.rollback()
        lock.close()
    _, alert = await gateway.next_alert(timeout=15)
    assert alert["type"] == "door_breach"
    store = gateway.running.store
    assert await store.list_rejected() == []
    assert await _door_events(gateway, "h2") == 1
    # Tried many times while the database was locked, the message is counted once.
    assert accepted._value.get() == accepted_before + 1
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            if (await client.get(url)).status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert (await client.get(url)).status_code == 200


async def test_a_poison_ack_in_a_batch_does_not_store_its_events_twice(gateway: Harness):
    """Deeply nested JSON on the ack topic beside door events: each event stored once."""
    with gateway.link() as link:
        messages: list[tuple[str, bytes]] = []
        for i in range(50):
            body = json.dumps({"type": "heartbeat", "seq": i}).encode()
            messages.append((f"{gateway.base}/dev/therm-r2/event", body))
        messages.append((f"{gateway.base}/ack/p2/01ZZZ", b"[" * 100_000))
        messages.append((f"{gateway.base}/dev/door-h2/event", DOOR_OPEN))
        await asyncio.to_thread(link.publish_many, messages)
        await gateway.next_alert(timeout=10)
    store = gateway.running.store
    assert len(await store.household_events("h2", kind="heartbeat")) == 50
    assert any("ack refused" in r.reason for r in await store.list_rejected())


async def test_the_ticker_waits_out_an_outage_without_a_restart(gateway: Harness):
    """A tick that finds the database locked past its busy timeout is retried at the next tick:
    the ticker is not restarted, /healthz names the database meanwhile, and ticks commit again
    once the lock is gone."""
    url = f"http://127.0.0.1:{gateway.running.http_port}/healthz"
    restarts = metrics.TASK_RESTARTS.labels("gateway.tick")
    restarts_before = restarts._value.get()
    pipeline = gateway.running.pipeline
    lock = await lock_sqlite(gateway)
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(300):  # a tick gives up after the store's 10 s busy timeout
                answer = await client.get(url)
                if answer.status_code == 503 and "tick:" in answer.text:
                    break
                await asyncio.sleep(0.1)
        assert answer.status_code == 503 and "tick:" in answer.text
        stuck = pipeline.watch.last_tick
    finally:
        lock.rollback()
        lock.close()
    # The sentinel: a tick after the lock commits (the watch's last tick moves on).
    await gateway.wait_for(lambda: _later(pipeline.watch.last_tick, stuck), timeout=15)
    async with httpx.AsyncClient() as client:
        await eventually(_healthy(client, url), timeout=10)
    assert restarts._value.get() == restarts_before


async def _later(now: datetime | None, before: datetime | None) -> bool:
    return now is not None and (before is None or now > before)


def _healthy(client: httpx.AsyncClient, url: str) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return (await client.get(url)).status_code == 200

    return check
