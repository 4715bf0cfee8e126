"""The ingest isolation on PostgreSQL: poison is set aside, a refused row does not stop the rest.

Runs where a PostgreSQL server answers on 127.0.0.1:5432 (trust auth, database ``test``) and the
``postgres`` extra is installed; skipped otherwise, saying why.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.clock import SystemClock
from gateway.ingest.arrival import Arrival
from tests.conftest import (
    BrokerUnderTest,
    Harness,
    prepare,
    running_gateway,
    site_doc,
    unique_settings,
)
from tests.integration.test_ingest_isolation import DOOR_CLOSED, DOOR_OPEN, POISON, _topic

asyncpg = pytest.importorskip("asyncpg", reason="the postgres extra (asyncpg) is not installed")
ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture
async def pg_gateway(tmp_path: Path, broker: BrokerUnderTest) -> AsyncIterator[tuple[Harness, str]]:
    """A gateway on a fresh PostgreSQL database (and that database's URL), dropped afterwards."""
    name = f"isogate_{uuid.uuid4().hex[:10]}"
    try:
        admin = await asyncpg.connect(ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432: {exc}")
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    try:
        settings = unique_settings(tmp_path, broker, database_url=url)
        clock = SystemClock()
        token = await prepare(settings, site_doc(door_debounce_s=0), clock.now())
        async with running_gateway(settings, broker, clock, token) as h:
            yield h, url.replace("+asyncpg", "")
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


async def test_poison_on_postgresql_is_rejected_and_a_breach_still_alerts(
    pg_gateway: tuple[Harness, str],
):
    """The same poison as on SQLite, each set aside with its reason; the next opening alerts."""
    h, _ = pg_gateway
    with h.link() as link:
        for topic, payload in POISON.values():
            await asyncio.to_thread(link.publish, _topic(h, topic), payload)
        await asyncio.to_thread(link.publish, f"{h.base}/dev/door-h2/event", DOOR_OPEN)
        _, alert = await h.next_alert(timeout=10)
    assert alert["type"] == "door_breach"
    store = h.running.store

    async def all_set_aside() -> bool:
        return len(await store.list_rejected()) >= len(POISON)

    await h.wait_for(all_set_aside, timeout=10)


async def test_a_row_postgresql_refuses_is_set_aside_and_the_rest_commits(
    pg_gateway: tuple[Harness, str],
):
    """A trigger refuses door rows: the heartbeats of that batch commit, the door is set aside."""
    h, url = pg_gateway
    con = await asyncpg.connect(url)
    await con.execute(
        "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'refused by test' USING ERRCODE = 'check_violation'; END $$ "
        "LANGUAGE plpgsql"
    )
    await con.execute(
        "CREATE TRIGGER refuse BEFORE INSERT ON events FOR EACH ROW "
        "WHEN (NEW.topic LIKE '%door-h2/event') EXECUTE FUNCTION refuse()"
    )
    now, base = datetime.now(UTC), h.base
    arrivals = [
        Arrival("mqtt", f"{base}/dev/therm-r2/event", b'{"type": "heartbeat"}', now, mid=i)
        for i in range(20)
    ]
    arrivals.insert(5, Arrival("mqtt", f"{base}/dev/door-h2/event", DOOR_CLOSED, now, mid=99))
    try:
        await h.running.ingest._settle(arrivals)
    finally:
        await con.execute("DROP TRIGGER refuse ON events")
        await con.close()
    store = h.running.store
    assert len(await store.household_events("h2", kind="heartbeat")) == 20
    assert sum("refused by test" in r.reason for r in await store.list_rejected()) == 1
