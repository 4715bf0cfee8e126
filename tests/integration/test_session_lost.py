"""A broker that comes back without the gateway's session is logged and counted as possible loss."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from gateway import metrics
from gateway.clock import SystemClock
from simulators.broker import Mosquitto, mosquitto_available
from tests.conftest import BrokerUnderTest, prepare, running_gateway, site_doc, unique_settings

pytestmark = pytest.mark.skipif(not mosquitto_available(), reason="needs mosquitto")


def _value(gauge_or_counter: object) -> float:
    return float(gauge_or_counter._value.get())  # type: ignore[attr-defined]


async def test_a_broker_crash_that_loses_the_session_is_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """Broker SIGKILLed before it saved the new session: reconnect, session gone, counted once."""
    with Mosquitto(tmp_path / "broker") as m:
        broker = BrokerUnderTest("mosquitto", "127.0.0.1", m.port, m)
        settings = unique_settings(tmp_path, broker)
        clock = SystemClock()
        token = await prepare(settings, site_doc(door_debounce_s=0), clock.now())
        lost_before = _value(metrics.SESSION_LOST)
        async with running_gateway(settings, broker, clock, token) as h:
            assert _value(metrics.BROKER_UP) == 1
            m.kill()  # within the autosave interval: the session was never written down

            async def down() -> bool:
                return not h.running.session.connected

            await h.wait_for(down, timeout=10)
            assert _value(metrics.BROKER_UP) == 0
            m.start()
            await asyncio.wait_for(h.running.session.wait_connected(), 30)
            assert _value(metrics.BROKER_UP) == 1
    assert _value(metrics.SESSION_LOST) == lost_before + 1
    assert any(
        r.levelno == logging.ERROR and "may be lost" in r.getMessage() for r in caplog.records
    )
