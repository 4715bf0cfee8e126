"""Two gateways on one PostgreSQL (``ha``), in this process: one active, the other standing by.

The killed and frozen active gateways are tested as real processes in ``test_cluster_nats.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.clock import SystemClock
from isogate.service import Gateway, Running
from isogate.settings import Settings
from simulators.door import DoorSensor
from simulators.link import SimLink
from tests.conftest import BrokerUnderTest, prepare, site_doc, subscribed, unique_settings
from tests.pg_support import fresh_database

FAST = {"ha": True, "lease_renew_s": 0.3, "lease_hold_s": 2.0, "lease_ttl_s": 3.0}


@contextlib.asynccontextmanager
async def _gateway(
    settings: Settings,
) -> AsyncIterator[tuple[asyncio.Task[None], asyncio.Future[Running]]]:
    ready: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(Gateway(settings, SystemClock()).run(ready.set_result))
    try:
        yield task, ready
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _health(running: Running) -> dict[str, object]:
    async with httpx.AsyncClient() as client:
        got = await client.get(f"http://127.0.0.1:{running.http_port}/healthz")
    body: dict[str, object] = got.json()
    return body


async def test_a_stopped_active_gateway_hands_over_to_the_standby(
    tmp_path: Path, broker: BrokerUnderTest
):
    """One takes epoch 1, the other waits; the first stops cleanly (its lease released): the
    second takes epoch 2 at once, rebuilds from the database and raises the next breach."""
    async with fresh_database() as url:
        a_settings = unique_settings(tmp_path / "a", broker, database_url=url, **FAST)
        shared = {k: getattr(a_settings, k) for k in ("base_topic", "z2m_base_topic", "client_id")}
        b_settings = unique_settings(tmp_path / "b", broker, database_url=url, **FAST, **shared)
        clock = SystemClock()
        await prepare(a_settings, site_doc(door_debounce_s=0), clock.now())
        async with _gateway(a_settings) as (a, a_ready), _gateway(b_settings) as (b, b_ready):
            done, _ = await asyncio.wait(
                {a_ready, b_ready}, timeout=20, return_when="FIRST_COMPLETED"
            )
            assert len(done) == 1, "exactly one of the pair becomes active"
            first, second_ready = (a, b_ready) if a_ready in done else (b, a_ready)
            health = await _health(done.pop().result())
            assert (health["role"], health["epoch"]) == ("active", 1)
            await asyncio.sleep(3 * a_settings.lease_ttl_s)
            assert not second_ready.done(), "the standby must not start while the other renews"
            first.cancel()
            await asyncio.gather(first, return_exceptions=True)
            health = await _health(await asyncio.wait_for(asyncio.shield(second_ready), 20))
            assert (health["role"], health["epoch"]) == ("active", 2)
            with (
                SimLink(broker.host, broker.port) as link,
                SimLink(broker.host, broker.port) as watcher,
            ):
                got: asyncio.Queue[dict[str, object]] = asyncio.Queue()
                loop = asyncio.get_running_loop()
                watcher.client.on_message = lambda _c, _u, m: loop.call_soon_threadsafe(
                    got.put_nowait, json.loads(m.payload)
                )
                await subscribed(watcher, f"{b_settings.base_topic}/alerts/to/p1")
                sensor = DoorSensor(
                    link, "h1/front door", "zigbee2mqtt", z2m_base=b_settings.z2m_base_topic
                )
                await asyncio.to_thread(sensor.open)
                alert = await asyncio.wait_for(got.get(), 10)
            assert (alert["type"], alert["household"]) == ("door_breach", "h1")


def test_ha_needs_postgresql():
    """A pair on SQLite is refused at start: SQLite is one box."""
    with pytest.raises(ValueError, match="PostgreSQL"):
        Settings(ha=True)


async def test_a_slow_pdf_font_probe_does_not_hold_up_the_broker_session(
    tmp_path: Path, broker: BrokerUnderTest, monkeypatch: pytest.MonkeyPatch
):
    """The font probe (a child process of seconds) runs beside the gateway, not before its
    session: a standby taking over is up as soon as the broker answers, the probe still going."""
    import threading

    from gateway.care.documents import Documents
    from tests.conftest import running_gateway

    release = threading.Event()
    probing = threading.Event()

    def slow_check(_self: Documents) -> str | None:
        probing.set()
        release.wait(30)
        return None

    monkeypatch.setattr(Documents, "check", slow_check)
    settings = unique_settings(tmp_path, broker)
    clock = SystemClock()
    token = await prepare(settings, site_doc(door_debounce_s=0), clock.now())
    try:
        async with running_gateway(settings, broker, clock, token) as h:
            assert h.running.session.connected
            assert probing.is_set() and not release.is_set()
    finally:
        release.set()
