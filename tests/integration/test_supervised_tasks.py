"""A failing task does not stop the gateway: it is restarted while ingest goes on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gateway import metrics
from gateway.ingest.pipeline import Pipeline
from gateway.store.records import OutboxItem
from simulators.door import DoorSensor
from tests.conftest import BrokerUnderTest, Harness, at_local, fake_time_gateway

FAULTS = 3


def _restarts(task: str) -> float:
    return metrics.TASK_RESTARTS.labels(task)._value.get()  # type: ignore[attr-defined]


async def test_a_failing_tick_is_restarted_while_a_door_breach_still_alerts(
    tmp_path: Path, broker: BrokerUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ticker raises three times: health names it, the breach alerts, the tick comes back."""
    calls = 0
    real_tick = Pipeline.tick

    async def flaky_tick(self: Pipeline) -> list[OutboxItem]:
        nonlocal calls
        calls += 1
        if calls <= FAULTS:
            raise RuntimeError(f"rule step fault {calls}")
        return await real_tick(self)

    monkeypatch.setattr(Pipeline, "tick", flaky_tick)
    before = _restarts("gateway.tick")
    async with fake_time_gateway(tmp_path, broker, at_local("2026-11-23 03:00")) as (h, clock):
        health = h.running.health

        async def tick_down() -> bool:
            return "task:gateway.tick" in {p.name for p in health.parts() if not p.ok}

        # advance() waits for a committed tick, which this ticker never makes until it heals.
        clock.advance(1.0)
        await h.wait_for(tick_down)
        down = {p.name: p for p in health.parts() if not p.ok}
        assert "rule step fault" in (down["task:gateway.tick"].reason or "")
        with h.link() as link:
            sensor = DoorSensor(link, "h1/front door", "zigbee2mqtt", z2m_base=h.z2m)
            await asyncio.to_thread(sensor.open)
            _topic, alert = await h.next_alert()
        assert alert["type"] == "door_breach"

        moved = 0

        async def ticking_again_and_healthy() -> bool:
            # Restarts wait at most a few fake seconds, then 10 s of clean run heal the part.
            nonlocal moved
            if calls > FAULTS + 2 and health.ok():
                return True
            assert moved < 60, f"not healed after {moved} fake seconds; {calls} ticks"
            clock.advance(1.0)
            moved += 1
            return False

        await h.wait_for(ticking_again_and_healthy, timeout=20)
        assert calls > FAULTS + 2  # ticking again, more than once
        assert [p.name for p in health.parts() if not p.ok] == []
        assert not h.task.done()
    assert _restarts("gateway.tick") - before == FAULTS


async def test_health_names_the_broker_and_every_supervised_task(gateway: Harness) -> None:
    """A running gateway reports the broker and each long-lived task as parts, all up."""
    parts = {p.name: p.ok for p in gateway.running.health.parts()}
    tasks = {f"task:gateway.{t}" for t in ("ingest", "outbox", "tick", "site", "http")}
    assert {"broker", *tasks} <= set(parts)
    assert all(parts.values())
