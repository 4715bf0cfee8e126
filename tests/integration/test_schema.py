"""The schema's migration path: a database made by an older isogate is brought forward."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.operations import Operations

from gateway.store import Store, care_tables, schema
from gateway.store.event_data import DoorData, TemperatureData
from tests.samples import check_seq_lookups


def _as_version_1(conn: sa.Connection) -> None:
    """Turn a new database back into what isogate's schema 1 made."""
    conn.execute(sa.text("DROP INDEX ix_events_kind_ts"))  # schema 7's
    conn.execute(sa.text("CREATE INDEX ix_events_device_ts ON events (device_id, ts)"))
    conn.execute(sa.text("DROP INDEX ix_events_device_received"))  # schema 6's
    conn.execute(sa.text("CREATE INDEX ix_events_digest ON events (digest)"))
    conn.execute(sa.text("DROP INDEX ix_events_device_seq"))
    conn.execute(sa.text("ALTER TABLE events DROP COLUMN mid"))
    conn.execute(sa.text("ALTER TABLE events DROP COLUMN ts_flag"))
    conn.execute(sa.text("CREATE UNIQUE INDEX ix_events_device_seq ON events (device_key, seq)"))
    conn.execute(sa.text("ALTER TABLE alerts DROP COLUMN seen_at"))  # schema 3's
    conn.execute(sa.text("ALTER TABLE users DROP COLUMN revoked_at"))  # schema 4's
    conn.execute(sa.text("ALTER TABLE alert_history DROP COLUMN via"))
    for table in ("sessions", "audit", "handovers"):
        conn.execute(sa.text(f"DROP TABLE {table}"))
    conn.execute(sa.text("ALTER TABLE alerts DROP COLUMN resident_id"))  # schema 5's
    conn.execute(sa.text("ALTER TABLE alerts DROP COLUMN vulnerable"))
    for table in care_tables.TABLES:
        conn.execute(sa.text(f"DROP TABLE {table.name}"))
    conn.execute(schema.schema_version.update().values(version=1))


async def test_a_version_1_database_is_migrated_forward_and_keeps_its_rows(tmp_path: Path):
    """Schema 1 with an event: reopened, events gain mid and ts_flag, (device, seq) may repeat,
    alerts gain seen_at, users and history gain revocation and via, the access tables appear."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'isogate.db'}"
    at = datetime(2026, 11, 23, tzinfo=UTC).timestamp()
    row = {
        "received_at": at,
        "ts": at,
        "source": "mqtt",
        "topic": "t",
        "device_key": "native:door-h1",
        "kind": "door",
        "seq": 7,
        "data": {"open": True},
        "digest": "0" * 32,
    }
    async with Store.open(url) as store:
        async with store.engine.begin() as conn:
            await conn.run_sync(_as_version_1)
        async with store.engine.begin() as conn:
            await conn.execute(schema.events.insert().values(**row))  # schema 1's columns only
    async with Store.open(url) as store:
        async with store.engine.begin() as conn:
            version = (await conn.execute(sa.select(schema.schema_version.c.version))).scalar()
            cols = await conn.run_sync(
                lambda c: [col["name"] for col in sa.inspect(c).get_columns("events")]
            )
            alert_cols = await conn.run_sync(
                lambda c: [col["name"] for col in sa.inspect(c).get_columns("alerts")]
            )
            tables = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
            indexes = await conn.run_sync(
                lambda c: {ix["name"] for ix in sa.inspect(c).get_indexes("events")}
            )
            # A device that restarted its count may store seq 7 again.
            await conn.execute(schema.events.insert().values(**row, mid=3))
        assert version == schema.SCHEMA_VERSION
        assert {"mid", "ts_flag"} <= set(cols)
        assert "ix_events_device_received" in indexes and "ix_events_digest" not in indexes
        assert "ix_events_kind_ts" in indexes and "ix_events_device_ts" not in indexes
        assert "seen_at" in alert_cols
        assert {"resident_id", "vulnerable"} <= set(alert_cols)
        assert {t.name for t in care_tables.TABLES} <= tables
        assert {"sessions", "audit", "handovers"} <= tables
        assert await store.count_events() == 2
        assert await store.seq_digests([("native:door-h1", 7)]) == {("native:door-h1", 7): "0" * 32}
    async with Store.open(url):
        pass  # opening again applies nothing twice


async def test_a_later_migration_step_runs_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A next version's step adds a column; reopening applies it once and keeps the rows."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'isogate.db'}"
    async with Store.open(url) as store:
        await store.add_user("p1", "officer", "tok", datetime.now(UTC))

    def add_note_column(op: Operations) -> None:
        op.add_column("users", sa.Column("note", sa.String(64), nullable=True))

    following = schema.SCHEMA_VERSION + 1
    monkeypatch.setattr(schema, "SCHEMA_VERSION", following)
    monkeypatch.setitem(schema.MIGRATIONS, following, add_note_column)
    async with Store.open(url) as store:
        async with store.engine.connect() as conn:
            version = (await conn.execute(sa.select(schema.schema_version.c.version))).scalar()
            cols = await conn.run_sync(
                lambda c: [col["name"] for col in sa.inspect(c).get_columns("users")]
            )
        assert version == following
        assert "note" in cols
        assert await store.user_by_token("tok") == ("p1", "officer")
    async with Store.open(url):
        pass


async def test_a_database_newer_than_the_code_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """An older isogate must not write into a schema it does not know."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'isogate.db'}"
    async with Store.open(url):
        pass
    monkeypatch.setattr(schema, "SCHEMA_VERSION", 0)
    with pytest.raises(RuntimeError, match="newer than this isogate"):
        async with Store.open(url):
            pass


async def test_event_rows_written_before_typed_data_read_back_typed(tmp_path: Path):
    """A reading and a door row as older isogate stored them come back as typed values."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'isogate.db'}"
    at = datetime(2026, 11, 23, 7, 31, tzinfo=UTC).timestamp()
    old = [
        ("temperature", {"celsius": 36.6, "battery": 70}),
        ("door", {"open": False, "device_ts": "2026-11-23T15:31:00+08:00"}),
    ]
    async with Store.open(url) as store:
        async with store.engine.begin() as conn:
            for seq, (kind, data) in enumerate(old):
                await conn.execute(
                    schema.events.insert().values(
                        received_at=at,
                        ts=at,
                        source="mqtt",
                        topic="t",
                        device_key=f"native:{kind}",
                        device_id=kind,
                        household_id="h1",
                        kind=kind,
                        seq=seq,
                        data=data,
                        digest=f"{seq:032x}",
                    )
                )
        door, reading = await store.household_events("h1")
    assert reading.data == TemperatureData(celsius=36.6, battery=70)
    assert door.data == DoorData(
        open=False, device_ts=datetime.fromisoformat("2026-11-23T15:31:00+08:00")
    )
    assert door.data.to_json() == old[1][1]


@contextlib.asynccontextmanager
async def query_plans(store: Store, wanted: str) -> AsyncIterator[list[str]]:
    """The query plans (SQLite's ``EXPLAIN QUERY PLAN``) of the statements containing ``wanted``
    that the store runs inside the block; the list is filled as the block ends."""
    seen: list[tuple[str, object]] = []
    plans: list[str] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many) -> None:
        if wanted in statement:
            seen.append((statement, parameters))

    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", capture)
    try:
        yield plans
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", capture)
    async with store.engine.connect() as conn:
        for sql, params in seen:
            rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
            plans.append(" ".join(row[3] for row in rows))


async def test_reads_of_a_kind_by_time_go_through_the_kind_time_index(tmp_path: Path):
    """The replay of readings at a start and the daily report's readings search the events by
    (kind, ts), not every event ever stored; and the insert no longer keeps (device_id, ts)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'isogate.db'}"
    since = datetime(2026, 11, 23, tzinfo=UTC)
    async with Store.open(url) as store:
        async with query_plans(store, "FROM events") as plans:
            await store.events_since("temperature", since)
            await store.readings_between(since, since + timedelta(days=1))
        async with store.engine.connect() as conn:
            indexes = await conn.run_sync(
                lambda c: {ix["name"] for ix in sa.inspect(c).get_indexes("events")}
            )
    assert len(plans) == 2
    for plan in plans:
        assert "USING INDEX ix_events_kind_ts (kind=? AND ts>?" in plan, plan
    assert "ix_events_device_ts" not in indexes


async def test_seq_lookups_take_the_newest_row_of_each_pair(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """One query for many (device, seq) pairs, through the (device_key, seq) index, and one for
    many (device, digest) pairs through the devices' events by receipt time."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'isogate.db'}"
    async with Store.open(url) as store, query_plans(store, "GROUP BY events.device_key") as plans:
        await check_seq_lookups(store, monkeypatch)
    assert len(plans) == 1 + 2 + 4 + 3, plans  # each lookup once, then once per pair
    # Searches, not a scan of every event ever stored (as a row-value IN list made it).
    assert (
        "SEARCH events USING COVERING INDEX ix_events_device_seq (device_key=? AND seq=?)"
        in (plans[0])
    ), plans[0]
    assert "ix_events_device_received (device_key=? AND received_at>?)" in plans[1], plans[1]
    assert not [p for p in plans if "SCAN events" in p], plans
