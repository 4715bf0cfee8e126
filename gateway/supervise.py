"""Supervised tasks: a long-lived task that fails is restarted, and the gateway goes on.

A fault is logged once with its traceback, then at most one line a minute while it repeats;
it is counted (``isogate_task_restarts_total``) and the task starts again after a capped
full-jitter wait on the injected clock. The task's health part (``task:<name>``) is down from
the first fault until a run has lasted ``healthy_after_s`` (then the backoff starts over).
Cancellation of the supervisor is shutdown: it cancels the task, waits for it and propagates.

Usage::

    tg.create_task(supervise("gateway.tick", tick, clock, health), name="gateway.tick")
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway import metrics
from gateway.backoff import full_jitter
from gateway.clock import Clock
from gateway.health import Health

log = logging.getLogger("isogate.supervise")

Work = Callable[[], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    """How a supervised task is restarted and when it counts as well again."""

    base_s: float = 0.5  # the first restart waits up to this long
    cap_s: float = 60.0  # no restart waits longer
    healthy_after_s: float = 10.0  # a run this long is clean: health up, backoff starts over
    log_every_s: float = 60.0  # at most one line per this while the same task keeps failing


class CancelledFromWithinError(RuntimeError):
    """The task's coroutine was cancelled although its supervisor was not."""


def _shutting_down() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


class _Attempt:
    """One run of the task, with a timer that tells when the run has lasted long enough."""

    def __init__(self, work: Work, name: str, clock: Clock, clean_after: float | None) -> None:
        self.run = asyncio.create_task(work(), name=name)
        self.timer = (
            asyncio.create_task(clock.sleep(clean_after), name=f"{name}.clean-timer")
            if clean_after is not None
            else None
        )

    async def wait_clean(self) -> bool:
        """Wait until the run has lasted long enough (True) or ended first (False)."""
        if self.timer is None:
            return False
        done, _ = await asyncio.wait({self.run, self.timer}, return_when=asyncio.FIRST_COMPLETED)
        return self.timer in done and not self.run.done()

    async def finish(self) -> None:
        """Wait for the run to end; raises what it raised."""
        await self.run

    async def close(self) -> None:
        """Cancel whatever still runs and wait for it (shutdown, or after a fault)."""
        pending = [t for t in (self.run, self.timer) if t is not None and not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)


async def supervise(
    name: str,
    work: Work,
    clock: Clock,
    health: Health | None = None,
    policy: RestartPolicy | None = None,
) -> None:
    """Run ``work()`` as task ``name`` until it returns, restarting it whenever it raises.

    Args:
        name: the task's name, for the logs, the metric and the health part ``task:<name>``.
        work: makes a fresh coroutine for each run.
        clock: the gateway's clock; restart waits and the clean stretch are in its time.
        health: where ``task:<name>`` is reported down while failing and up once clean.
        policy: restart waits, the clean stretch and the log rate.
    """
    p = policy or RestartPolicy()
    part = f"task:{name}"
    failures = 0  # in a row, since the last clean stretch
    last_line: datetime | None = None
    if health is not None:
        health.up(part)
    while True:
        attempt = _Attempt(work, name, clock, p.healthy_after_s if failures else None)
        try:
            if await attempt.wait_clean():
                log.warning("task %s runs again after %d fault(s)", name, failures)
                failures = 0
                if health is not None:
                    health.up(part)
            await attempt.finish()
            log.info("task %s ended", name)
            return
        except asyncio.CancelledError:
            if _shutting_down():
                raise
            fault: BaseException = CancelledFromWithinError(name)
        except Exception as exc:
            fault = exc
        finally:
            await attempt.close()
        failures += 1
        metrics.TASK_RESTARTS.labels(name).inc()
        reason = f"{type(fault).__name__}: {fault}" if str(fault) else type(fault).__name__
        if health is not None:
            health.down(part, f"restarting after {failures} fault(s) in a row; last {reason}")
        now = clock.now()
        wait = full_jitter(failures, p.base_s, p.cap_s)
        if failures == 1:
            log.error("task %s failed; restarting in %.1f s", name, wait, exc_info=fault)
            last_line = now
        elif last_line is None or (now - last_line).total_seconds() >= p.log_every_s:
            log.error("task %s failed again (%d in a row): %s", name, failures, reason)
            last_line = now
        await clock.sleep(wait)
