"""The store on PostgreSQL: the same named operations, so SQLite is no lock-in.

Runs where a PostgreSQL server answers on 127.0.0.1:5432 (trust auth, database ``test``) and the
``postgres`` extra (asyncpg) is installed; skipped otherwise, saying why.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from gateway.store import Store
from gateway.store.event_data import DoorData
from gateway.store.records import EventRecord, HistoryEntry, OutboxItem, Writes
from tests.samples import breach_alert, check_seq_lookups

asyncpg = pytest.importorskip("asyncpg", reason="the postgres extra (asyncpg) is not installed")

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


@pytest.fixture
async def pg_store() -> AsyncIterator[Store]:
    """A fresh database on the local server, dropped afterwards."""
    name = f"isogate_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test", timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        async with Store.open(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}") as store:
            yield store
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_event_alert_and_outbox_round_trip_on_postgresql(pg_store: Store):
    """One pipeline step's writes commit and read back as on SQLite."""
    alert = breach_alert(T0, next_escalation_at=T0 + timedelta(seconds=120))
    w = Writes(
        events=[
            EventRecord(
                T0,
                T0,
                "mqtt",
                "zigbee2mqtt/h1_door",
                "zigbee2mqtt:h1_door",
                "door-h1",
                "h1",
                "door",
                7,
                "change/breach",
                DoorData(open=True),
                "d" * 32,
            )
        ],
        alerts={alert.id: alert},
        new_alert_ids={alert.id},
        history=[HistoryEntry(alert.id, T0, "raised")],
        outbox=[OutboxItem(alert.id, "mqtt", "p1", "isogate/alerts/to/p1", "{}", T0)],
        meta={"watch.last_tick": T0.timestamp()},
    )
    [item] = await pg_store.commit(w)
    assert item.id is not None
    [active] = await pg_store.active_alerts()
    assert active == alert
    assert await pg_store.recent_seqs() == [("zigbee2mqtt:h1_door", 7)]
    since = T0 - timedelta(hours=1)
    assert await pg_store.is_redelivery({"zigbee2mqtt:h1_door"}, "d" * 32, None, since)
    assert not await pg_store.is_redelivery({"zigbee2mqtt:h2_door"}, "d" * 32, None, since)
    assert [i.id for i in await pg_store.due_outbox(T0)] == [item.id]
    await pg_store.outbox_done([(item.id, T0)])
    assert await pg_store.due_outbox(T0) == []
    assert await pg_store.meta("watch.last_tick") == T0.timestamp()
    assert await pg_store.event_counts(T0, T0 + timedelta(seconds=1)) == [("h1", "door", 1)]
    revision = await pg_store.save_site(
        entities={"staff": {"p1": {"id": "p1", "name": "赵致远", "role": "officer"}}},
        meta={"timezone": "Asia/Shanghai"},
        at=T0,
    )
    assert revision == 1
    assert (await pg_store.read_site())[1]["staff"][0]["name"] == "赵致远"


async def test_seq_lookups_take_the_newest_row_of_each_pair_on_postgresql(
    pg_store: Store, monkeypatch: pytest.MonkeyPatch
):
    """The same lookup of (device, seq) pairs as on SQLite."""
    await check_seq_lookups(pg_store, monkeypatch)
