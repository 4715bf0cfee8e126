"""Past one box: NATS's MQTT, two gateway processes on PostgreSQL, takeover and fencing.

Needs ``nats-server`` and PostgreSQL on 127.0.0.1:5432; skipped, saying which, where either is
missing. One NATS node is enough where the takeover, not the broker, is under test; the
broker failover across nodes has its own test with three.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway.clock import SystemClock
from gateway.cluster.lease import EXIT_LEASE_LOST
from gateway.ingest.mqtt import Inbound, MqttSession
from gateway.store import Store
from simulators.link import SimLink
from simulators.nats import NatsCluster, mqtt_ready, nats_available
from tests.integration.cluster_support import Pair, pair_settings, start_pair
from tests.pg_support import fresh_database

pytestmark = pytest.mark.skipif(not nats_available(), reason="nats-server is not installed")


@pytest.fixture(scope="module")
def nats_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    """One NATS node with MQTT and JetStream, anonymous clients."""
    with NatsCluster(tmp_path_factory.mktemp("nats"), size=1) as node:
        yield node


@pytest.fixture
async def database() -> AsyncIterator[str]:
    async with fresh_database() as url:
        yield url


async def _stored(url: str, household: str) -> tuple[int, int]:
    """(door-open events, door_breach alerts) stored for ``household``."""
    async with Store.open(url) as store, store.engine.connect() as conn:
        events = await conn.scalar(
            sa.text("SELECT count(*) FROM events WHERE household_id = :h AND kind = 'door'"),
            {"h": household},
        )
        alerts = await conn.scalar(
            sa.text("SELECT count(*) FROM alerts WHERE household_id = :h AND type = 'door_breach'"),
            {"h": household},
        )
    return int(events or 0), int(alerts or 0)


def _once(pair: Pair, household: str) -> str:
    """The one alert id the officer saw raised for ``household``, published once."""
    raised = pair.phone.raised(household)
    assert len(raised) == 1, f"{household}: {[s.alert['id'] for s in raised]}"
    return str(raised[0].alert["id"])


async def test_a_killed_active_gateway_is_taken_over_and_no_breach_is_lost(
    tmp_path: Path, nats_node: NatsCluster, database: str
):
    """SIGKILL the active gateway: a breach published in the gap and one after the standby took
    over both reach the officer, once each. Default lease timings; the takeover time is printed."""
    settings = pair_settings(tmp_path, nats_node.url(0), database)
    pair = await start_pair(settings, "127.0.0.1", nats_node.ports[0].mqtt)
    try:
        first = await pair.active()
        await pair.breach("h3")
        await pair.phone.wait_raised("h3")
        await asyncio.sleep(2)  # the delivery is recorded, so the next one will not resend it
        killed = time.monotonic()
        pair.procs[first].send_signal(signal.SIGKILL)
        await pair.breach("h4")  # in the gap: queued in the gateway's session on the broker
        second = await pair.active(not_=first)
        became_active = time.monotonic()
        await pair.breach("h5")
        gap = await pair.phone.wait_raised("h4")
        after = await pair.phone.wait_raised("h5")
        print(
            f"\ntakeover (SIGKILL → first alert from the new active gateway): "
            f"{gap.at - killed:.2f} s; standby active after {became_active - killed:.2f} s; "
            f"breach after takeover → alert {after.at - became_active:.3f} s "
            f"(lease renew {settings[0].lease_renew_s:g} s, ttl {settings[0].lease_ttl_s:g} s)"
        )
        assert second != first
        for household in ("h3", "h4", "h5"):
            _once(pair, household)
            assert await _stored(database, household) == (1, 1)
        health = await pair.health(second)
        assert health is not None and (health["role"], health["epoch"]) == ("active", 2)
    finally:
        pair.stop()


async def test_a_frozen_active_gateway_publishes_and_writes_nothing_after_the_takeover(
    tmp_path: Path, nats_node: NatsCluster, database: str
):
    """SIGSTOP the active gateway past its lease with a breach in its socket, the standby takes
    over and alerts; SIGCONT: the first exits (lease lost) and publishes and stores nothing, as
    a later sentinel breach shows."""
    lease = {"lease_renew_s": 0.3, "lease_hold_s": 1.0, "lease_ttl_s": 2.0}
    settings = pair_settings(tmp_path, nats_node.url(0), database, **lease)
    pair = await start_pair(settings, "127.0.0.1", nats_node.ports[0].mqtt)
    try:
        first = await pair.active()
        pair.procs[first].send_signal(signal.SIGSTOP)
        await pair.breach("h3")  # the broker sends it to the frozen gateway's socket first
        second = await pair.active(not_=first)
        await pair.phone.wait_raised("h3")
        pair.procs[first].send_signal(signal.SIGCONT)
        code = await asyncio.to_thread(pair.procs[first].wait, 30)
        await pair.breach("h4")  # the sentinel: once it is seen, the first had its chance
        await pair.phone.wait_raised("h4")
        await asyncio.sleep(1)
        assert code == EXIT_LEASE_LOST
        assert "lost" in pair.log(first)
        for household in ("h3", "h4"):
            alert_id = _once(pair, household)
            assert await _stored(database, household) == (1, 1), alert_id
        assert second != first
    finally:
        pair.stop()


async def test_the_session_moves_to_another_node_with_its_queued_messages(tmp_path: Path):
    """Three nodes: the node holding the session is killed; the session moves to the next URL
    and gets the QoS 1 messages published meanwhile on another node, none lost."""
    topic = f"failover-{uuid.uuid4().hex[:8]}/t"
    got: asyncio.Queue[Inbound] = asyncio.Queue()
    with NatsCluster(tmp_path / "nats", size=3) as cluster:
        session = MqttSession(
            cluster.urls(),
            f"failover-{uuid.uuid4().hex[:8]}",
            clock=SystemClock(),
            subscriptions=[topic],
            on_message=got.put_nowait,
        )
        async with session, asyncio.TaskGroup() as tg:
            runner = tg.create_task(session.run())
            await session.wait_connected(30)
            assert session.address.port == cluster.ports[0].mqtt
            # The subscription is in place (its consumer committed in JetStream) once a message
            # published to it arrives; published until one does, as a SUBACK is not awaited.
            async with asyncio.timeout(30):
                with SimLink("127.0.0.1", cluster.ports[0].mqtt) as link:
                    while got.empty():
                        await asyncio.to_thread(link.publish, topic, "ready")
                        await asyncio.sleep(0.2)
            while not got.empty():
                session.ack(got.get_nowait())
            cluster.kill(0)
            # The surviving nodes take MQTT sessions again once JetStream re-elected its leaders.
            await asyncio.to_thread(mqtt_ready, cluster.ports[2].mqtt)
            with SimLink("127.0.0.1", cluster.ports[2].mqtt) as link:
                await asyncio.to_thread(
                    link.publish_many, ((topic, str(i)) for i in range(200)), 100
                )
            received: set[bytes] = set()
            async with asyncio.timeout(60):
                while len(received) < 200:
                    message = await got.get()
                    if message.payload != b"ready":  # a sentinel redelivered after the move
                        received.add(message.payload)
                    session.ack(message)
            assert session.address.port != cluster.ports[0].mqtt
            assert received == {str(i).encode() for i in range(200)}
            runner.cancel()
