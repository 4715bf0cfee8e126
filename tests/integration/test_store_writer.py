"""The store's SQLite writer: a step commits on the loop's thread, never waits there, and a step
SQLite refuses leaves nothing behind (a real database file; another connection as the rival)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.ingest.worker import is_outage
from gateway.store import Store
from gateway.store.event_data import DoorData
from gateway.store.plan import plan
from gateway.store.records import (
    DeviceStatus,
    EventRecord,
    HistoryEntry,
    OutboxItem,
    Writes,
)
from tests.samples import breach_alert, demo_desk, staged_repeats

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def _event(seq: int) -> EventRecord:
    return EventRecord(
        T0, T0, "mqtt", "isogate/dev/door-h1/event", "native:door-h1", "door-h1", "h1",
        "door", seq, "change/breach", DoorData(open=True), f"{seq:032x}", seq,
    )  # fmt: skip


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[tuple[Store, Path]]:
    """A store on a file, and the file for a rival connection."""
    path = tmp_path / "isogate.db"
    async with Store.open(f"sqlite+aiosqlite:///{path}") as store:
        yield store, path


async def test_a_step_held_up_by_another_writer_waits_off_the_loop_then_commits(db):
    """While a rival holds the write lock, the loop keeps running; once it lets go, the step
    commits, and later steps follow it in order."""
    store, path = db
    rival = sqlite3.connect(path, isolation_level=None)
    rival.execute("BEGIN IMMEDIATE")
    step = asyncio.create_task(store.commit(Writes(events=[_event(1)])))
    ticks = 0
    for _ in range(10):
        await asyncio.sleep(0.02)
        ticks += 1
    assert not step.done() and ticks == 10
    later = asyncio.create_task(store.commit(Writes(events=[_event(2)])))
    rival.execute("COMMIT")
    rival.close()
    await asyncio.wait_for(asyncio.gather(step, later), 10)
    assert [e.seq for e in await store.household_events("h1")] == [2, 1]


async def test_a_database_held_past_the_busy_timeout_is_an_outage_and_nothing_is_written(db):
    """The writer waits as long as the store's busy timeout, then reports the database as
    unavailable (the ingest waits and tries again), having written nothing."""
    store, path = db
    await store.commit(Writes(events=[_event(1)]))  # the writer is open
    store._writer._patience_ms = 200  # type: ignore[union-attr]  # not ten seconds in a test
    rival = sqlite3.connect(path, isolation_level=None)
    rival.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sa.exc.OperationalError) as refused:
            await store.commit(Writes(events=[_event(2)]))
        assert is_outage(refused.value)
    finally:
        rival.execute("ROLLBACK")
        rival.close()
    assert await store.count_events() == 1


async def test_a_step_sqlite_refuses_leaves_nothing_and_the_next_one_commits(db):
    """A new alert whose id exists already: the whole step is rolled back (its event too) and
    reported as the row's fault; the writer goes on with the next step."""
    store, _ = db
    alert = breach_alert(T0, message="门磁 开门")
    await store.commit(Writes(alerts={alert.id: alert}, new_alert_ids={alert.id}))
    again = Writes(events=[_event(1)], alerts={alert.id: alert}, new_alert_ids={alert.id})
    with pytest.raises(sa.exc.IntegrityError) as refused:
        await store.commit(again)
    assert not is_outage(refused.value)
    assert await store.count_events() == 0
    await store.commit(Writes(events=[_event(2)]))
    assert await store.count_events() == 1


async def test_a_breach_step_is_one_statement_per_table_and_reads_back(db):
    """Event, device, alert, history and three notices: one planned statement each, the
    notices last (their ids are the step's answer), all stored."""
    store, _ = db
    alert = breach_alert(T0, message="门磁 开门")
    w = Writes(
        events=[_event(1)],
        devices={"door-h1": DeviceStatus("door-h1", "h1", T0, door_open=True)},
        alerts={alert.id: alert},
        new_alert_ids={alert.id},
        history=[HistoryEntry(alert.id, T0, "raised")],
        outbox=[
            OutboxItem(alert.id, "mqtt", p, f"isogate/alerts/to/{p}", "{}", T0)
            for p in ("*", "p1", "w1")
        ],
    )
    assert [op.name for op in plan(w)] == ["events", "devices", "alerts_new", "history", "outbox"]
    items = await store.commit(w)
    assert [i.recipient for i in items] == ["*", "p1", "w1"]
    assert sorted(i.id for i in await store.due_outbox(T0)) == sorted(i.id for i in items)
    [stored] = await store.household_events("h1")
    assert stored.data == DoorData(open=True) and stored.seq == 1
    assert (await store.get_alert(alert.id)) == alert
    [device] = await store.device_statuses()
    assert device.door_open is True and device.last_seen == T0


async def test_a_step_whose_caller_gave_up_still_has_the_connection_and_the_next_one_waits(db):
    """An API request abandons its step at its deadline (cancelled); the step still waits on the
    writer's thread. The next step queues behind it instead of taking the connection on the
    loop, which would block the loop until the first gave up; both commit once freed."""
    store, path = db
    await store.commit(Writes(events=[_event(1)]))
    rival = sqlite3.connect(path, isolation_level=None)
    rival.execute("BEGIN IMMEDIATE")
    abandoned = asyncio.create_task(store.commit(Writes(events=[_event(2)])))
    await asyncio.sleep(0.1)
    abandoned.cancel()
    nxt = asyncio.create_task(store.commit(Writes(events=[_event(3)])))
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await asyncio.sleep(0.05)
    assert loop.time() - t0 < 0.5
    rival.execute("COMMIT")
    rival.close()
    await asyncio.wait_for(nxt, 10)
    assert sorted(e.seq for e in await store.household_events("h1")) == [1, 2, 3]


async def test_the_store_takes_a_step_only_once_its_alert_news_is_rendered(db):
    """Unsealed, the step is refused whole; sealed, the outbox holds the raise and one update
    with the last count, in that order."""
    d = demo_desk()
    w, first = staged_repeats(d, "h1", T0, 2)
    store, _ = db
    with pytest.raises(RuntimeError, match="seal"):
        await store.commit(w)
    assert await store.outbox_pending_count() == 0
    d.seal(w)
    await store.commit(w)
    stored = await store.outbox_pending_mqtt({first.id})
    on_all = [
        json.loads(body)["count"] for _, _, target, body in stored if target == "isogate/alerts"
    ]
    assert on_all == [1, 3]
