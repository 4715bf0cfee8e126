"""The supervisor: a failing task is restarted with backoff, logged sparingly, and shut down."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import pytest

from gateway import metrics
from gateway.clock import FakeClock
from gateway.health import Health
from gateway.supervise import RestartPolicy, supervise

START = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
POLICY = RestartPolicy(base_s=1.0, cap_s=4.0, healthy_after_s=5.0, log_every_s=60.0)


def _restarts(name: str) -> float:
    return metrics.TASK_RESTARTS.labels(name)._value.get()  # type: ignore[attr-defined]


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def _until(predicate: object, clock: FakeClock, step_s: float = 1.0) -> None:
    """Move fake time a step at a time until ``predicate()`` holds (or give up)."""
    for _ in range(200):
        await _settle()
        if predicate():  # type: ignore[operator]
            return
        clock.advance(step_s)
    pytest.fail("condition not met")


async def test_a_task_that_fails_three_times_is_restarted_and_reported_up_again() -> None:
    """Three faults: counted, health down meanwhile; after a clean stretch, up again."""
    clock, health = FakeClock(START), Health(lambda: START)
    runs = 0
    forever = asyncio.Event()

    async def work() -> None:
        nonlocal runs
        runs += 1
        if runs <= 3:
            raise RuntimeError(f"fault {runs}")
        await forever.wait()

    before = _restarts("t.flaky")
    task = asyncio.create_task(supervise("t.flaky", work, clock, health, POLICY))
    await _until(lambda: runs == 4, clock)
    assert _restarts("t.flaky") - before == 3
    (part,) = health.parts()
    assert part.name == "task:t.flaky" and not part.ok
    assert "fault 3" in (part.reason or "")
    await _until(lambda: health.ok(), clock)
    assert runs == 4  # not restarted while healthy
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_repeated_faults_log_the_traceback_once_then_a_line_a_minute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A task failing every second for two minutes leaves a handful of lines, not 120."""
    caplog.set_level(logging.INFO, logger="isogate.supervise")
    clock = FakeClock(START)
    runs = 0

    async def work() -> None:
        nonlocal runs
        runs += 1
        raise ValueError("still broken")

    task = asyncio.create_task(supervise("t.broken", work, clock, None, POLICY))
    await _until(lambda: runs >= 60, clock, step_s=2.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    lines = [r for r in caplog.records if "t.broken" in r.getMessage()]
    assert 2 <= len(lines) <= 4, [r.getMessage() for r in lines]
    assert lines[0].exc_info is not None
    assert all(r.exc_info is None for r in lines[1:])


async def test_cancelling_the_supervisor_cancels_the_task_and_propagates() -> None:
    """Shutdown is cancellation: the task's own cleanup runs, and nothing is restarted."""
    clock = FakeClock(START)
    started, cleaned = asyncio.Event(), asyncio.Event()
    runs = 0

    async def work() -> None:
        nonlocal runs
        runs += 1
        started.set()
        try:
            await asyncio.Event().wait()
        finally:
            cleaned.set()

    task = asyncio.create_task(supervise("t.long", work, clock, None, POLICY))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned.is_set() and runs == 1


async def test_a_task_that_returns_is_not_restarted() -> None:
    """A task that ends by itself is done; its part stays up."""
    clock, health = FakeClock(START), Health(lambda: START)
    runs = 0

    async def work() -> None:
        nonlocal runs
        runs += 1

    await asyncio.wait_for(supervise("t.once", work, clock, health, POLICY), 2)
    assert runs == 1 and health.ok()
