"""The schema's migration path: a database made by an older isogate is brought forward."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.operations import Operations

from gateway.store import Store, schema
from gateway.store.event_data import DoorData, TemperatureData


async def test_an_older_database_is_migrated_forward_and_keeps_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Version 1 with data; a version-2 step adds a column; reopening applies it once."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'isogate.db'}"
    async with Store.open(url) as store:
        await store.add_user("p1", "officer", "tok", datetime.now(UTC))

    def add_note_column(op: Operations) -> None:
        op.add_column("users", sa.Column("note", sa.String(64), nullable=True))

    monkeypatch.setattr(schema, "SCHEMA_VERSION", 2)
    monkeypatch.setitem(schema.MIGRATIONS, 2, add_note_column)
    async with Store.open(url) as store:
        async with store.engine.connect() as conn:
            version = (await conn.execute(sa.select(schema.schema_version.c.version))).scalar()
            cols = await conn.run_sync(
                lambda c: [col["name"] for col in sa.inspect(c).get_columns("users")]
            )
        assert version == 2
        assert "note" in cols
        assert await store.user_by_token("tok") == ("p1", "officer")
    async with Store.open(url):
        pass  # opening again applies nothing twice


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
