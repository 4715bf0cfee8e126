"""Several broker URLs: on a lost broker the session moves to the next, same client id.

Two independent mosquittos stand in for two nodes here; a clustered broker that shares the
session (NATS) is tested in ``test_cluster_nats.py``.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from gateway.clock import SystemClock
from gateway.ingest.broker_url import broker_addresses
from gateway.ingest.mqtt import Inbound, MqttSession
from isogate.settings import ConfigError, Settings
from simulators.broker import Mosquitto, mosquitto_available
from simulators.link import SimLink

pytestmark = pytest.mark.skipif(not mosquitto_available(), reason="needs mosquitto")


def test_the_broker_setting_takes_a_list_of_urls():
    """Commas separate the nodes; every one is checked, and TLS and plain are not mixed."""
    urls = "mqtt://127.0.0.1:1883, mqtt://gw:pw@127.0.0.1:1884"
    assert [(a.port, a.username) for a in broker_addresses(urls)] == [(1883, None), (1884, "gw")]
    assert Settings.load(mqtt_url=urls).mqtt_url == urls
    with pytest.raises(ConfigError, match="mix mqtts"):
        Settings.load(mqtt_url="mqtt://a:1883,mqtts://b:8883")
    with pytest.raises(ConfigError, match="scheme"):
        Settings.load(mqtt_url="mqtt://a:1883,http://b")


async def test_a_killed_broker_moves_the_session_to_the_next_url(tmp_path: Path):
    """The first broker is SIGKILLed: the session connects to the second and receives there."""
    topic = f"failover-{uuid.uuid4().hex[:8]}/t"
    got: asyncio.Queue[Inbound] = asyncio.Queue()
    with Mosquitto(tmp_path / "b1") as first, Mosquitto(tmp_path / "b2") as second:
        session = MqttSession(
            f"{first.url},{second.url}",
            f"failover-{uuid.uuid4().hex[:8]}",
            clock=SystemClock(),
            subscriptions=[topic],
            on_message=got.put_nowait,
        )
        async with session, asyncio.TaskGroup() as tg:
            runner = tg.create_task(session.run())
            await session.wait_connected(10)
            assert session.address.port == first.port
            first.kill()
            await _moved_to(session, second.port)
            with SimLink("127.0.0.1", second.port) as link:
                await asyncio.to_thread(link.publish, topic, b"after the kill")
            message = await asyncio.wait_for(got.get(), 10)
            assert message.payload == b"after the kill"
            session.ack(message)
            await session.publish("failover/out", b"an alert", timeout=5)
            runner.cancel()


async def _moved_to(session: MqttSession, port: int, timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while not (session.connected and session.address.port == port):
            await asyncio.sleep(0.05)
