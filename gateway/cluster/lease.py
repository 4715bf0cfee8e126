"""Two gateways, one active: a lease row in PostgreSQL with an epoch, renewed every second.

Why a lease row rather than an advisory lock: an advisory lock lives as long as its connection,
and PostgreSQL learns that a frozen or cut-off holder is gone only when TCP keepalive gives up
(minutes), while the holder itself cannot tell that it lost the lock until it talks to the
database again. A row with an expiry and an epoch gives both sides a deadline and gives every
commit something to check (the fence): the epoch.

Timings (all in seconds, :class:`LeaseTimings`): the holder renews every ``renew_s``; it stops
(publishes nothing, commits nothing) once ``hold_s`` passed since it *sent* its last successful
renewal; a taker may take the lease only when ``ttl_s`` passed since the database *executed*
that renewal — later in real time — and ``ttl_s > hold_s``. The taker reads the expiry on
PostgreSQL's clock; the holder counts on its own monotonic clock from before the request, so
neither compares its wall clock with the other's.

The renewals run on a thread of their own, so a busy event loop (a large site's start) does not
lose the lease; a loop that has not run for :data:`LOOP_STALL_S` (hung) stops them.

Three guards, each enough for its own path:
- the deadline itself: :meth:`Lease.valid` is read before every delivery (MQTT, SMS, webhooks)
  and before every commit, with no I/O, so a gateway resumed after a freeze checks it before it
  does anything else;
- the fence: every commit reads the lease row ``FOR SHARE`` in its own transaction and goes on
  only under its own, unexpired epoch (:func:`gateway.store.lease.check_fence`);
- the end: a lost lease cancels the gateway, and ``isogate run`` exits with
  :data:`EXIT_LEASE_LOST` for the service manager to start it again — as a standby.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway import metrics
from gateway.store import lease as rows
from gateway.store.lease import FencedError

log = logging.getLogger("isogate.lease")

EXIT_LEASE_LOST = 75
"""``isogate run``'s exit status after a lost lease (EX_TEMPFAIL: start me again)."""

_DB_ERRORS = (SQLAlchemyError, OSError, TimeoutError)
LOOP_STALL_S = 30.0
"""A gateway whose event loop has not run for this long is hung: it stops renewing its lease
and the standby takes over. Starting a large site must fit (it holds the loop for a while)."""


class LeaseLostError(Exception):
    """This gateway lost the active lease, and why."""


@dataclass(frozen=True, slots=True)
class LeaseTimings:
    """How often the holder renews, when it gives up, when a taker may take over."""

    renew_s: float = 1.0
    hold_s: float = 3.0
    ttl_s: float = 5.0

    def __post_init__(self) -> None:
        if not 0 < self.renew_s < self.hold_s < self.ttl_s:
            raise ValueError("lease timings must be 0 < renew_s < hold_s < ttl_s")


class Role(StrEnum):
    """What a gateway of a pair is doing."""

    STANDBY = "standby"
    ACTIVE = "active"
    LOST = "lost"


def holder_id() -> str:
    """This process among the gateways: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Lease:
    """One gateway's side of the lease named ``name`` (the shared MQTT client id)."""

    def __init__(self, url: str, engine: AsyncEngine, name: str, timings: LeaseTimings) -> None:
        self.url = url
        self.engine = engine
        self.name = name
        self.timings = timings
        self.holder = holder_id()
        self.role = Role.STANDBY
        self.epoch: int | None = None
        """Ours while active; while standing by, the epoch last seen held by the other."""
        self._deadline = 0.0  # monotonic: the holder stops here
        self._lost = asyncio.Event()
        self._on_lost: list[Callable[[str], None]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._beat = 0.0  # monotonic: when the gateway's event loop last ran the lease's timer
        self._failing = False

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, name: str, timings: LeaseTimings) -> AsyncIterator[Self]:
        """The lease on a connection of its own (never queued behind the store's work); a
        clean exit releases a held lease so the standby takes over at once."""
        engine = create_async_engine(url, **_engine_options(url, timings))
        try:
            async with engine.begin() as conn:
                await rows.ensure_table(conn)
            lease = cls(url, engine, name, timings)
            try:
                yield lease
            finally:
                await lease._release()
        finally:
            await engine.dispose()

    # --- the holder's view, synchronous -------------------------------------------------------

    def valid(self) -> bool:
        """Whether this gateway holds the lease now (no I/O: safe before any side effect)."""
        return self.role is Role.ACTIVE and time.monotonic() < self._deadline

    def on_lost(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(reason)`` at once, synchronously, when the lease is lost."""
        self._on_lost.append(callback)

    def view(self) -> tuple[str, int | None]:
        """(role, epoch) for ``/healthz``."""
        return str(self.role), self.epoch

    def _lose(self, reason: str) -> None:
        if self.role is Role.LOST:
            return
        self.role = Role.LOST
        metrics.LEASE_ACTIVE.set(0)
        log.error("lease %s (epoch %s) lost: %s; stopping", self.name, self.epoch, reason)
        self._lost.set()
        for callback in self._on_lost:
            try:
                callback(reason)
            except Exception:  # one callback's fault must not spare the others
                log.exception("lease-lost callback failed")

    # --- standing by ----------------------------------------------------------------------------

    async def acquire(self) -> int:
        """Wait until the lease is free or expired, take it (epoch + 1) and return the epoch."""
        log.info("standing by for lease %s as %s", self.name, self.holder)
        while True:
            sent = time.monotonic()
            try:
                async with self.engine.begin() as conn:
                    epoch = await rows.take(
                        conn, self.name, self.holder, self.timings.ttl_s, self.timings.renew_s
                    )
                    if epoch is None:
                        seen = await rows.state(conn, self.name)
                        self.epoch = seen.epoch if seen else None
                self._db_ok()
            except _DB_ERRORS as exc:
                self._db_failed("standby cannot reach the database", exc)
                epoch = None
            if epoch is not None:
                self.epoch = epoch
                self._deadline = sent + self.timings.hold_s
                self.role = Role.ACTIVE
                metrics.LEASE_ACTIVE.set(1)
                if epoch > 1:
                    metrics.TAKEOVERS.inc()
                log.warning(
                    "lease %s taken as %s: epoch %d, now active", self.name, self.holder, epoch
                )
                return epoch
            await asyncio.sleep(self.timings.renew_s / 2)

    # --- holding ---------------------------------------------------------------------------------

    async def hold(self) -> None:
        """Renew the lease until it is lost; then raise LeaseLostError (the owner's TaskGroup
        takes the gateway down with it). Run only after :meth:`acquire`.

        The renewals run on a thread of their own (with their own connection), so that a stall
        of the gateway's loop shorter than :data:`LOOP_STALL_S` (a large site's start, a long
        tick) does not cost the lease; the loop's own timer checks the deadline and keeps a
        heartbeat the thread renews only while it is fresh — a hung gateway lets go.
        """
        assert self.role is Role.ACTIVE and self.epoch is not None
        loop = asyncio.get_running_loop()
        self._tick(loop)
        stop = threading.Event()
        renewer = threading.Thread(
            target=lambda: asyncio.run(self._renew_forever(loop, stop)),
            name="isogate-lease",
            daemon=True,
        )
        renewer.start()
        try:
            await self._lost.wait()
        finally:
            stop.set()
            if self._timer is not None:
                self._timer.cancel()
        raise LeaseLostError(f"lease {self.name} epoch {self.epoch} lost")

    async def _renew_forever(self, main: asyncio.AbstractEventLoop, stop: threading.Event) -> None:
        """The renewing thread's loop: every ``renew_s``, while held and the gateway is alive."""
        engine = create_async_engine(self.url, **_engine_options(self.url, self.timings))
        stalled = False
        try:
            while not stop.is_set() and self.role is Role.ACTIVE:
                await asyncio.sleep(self.timings.renew_s)
                if time.monotonic() - self._beat > LOOP_STALL_S:
                    if not stalled:
                        log.error(
                            "the gateway's loop has not run for %g s: not renewing", LOOP_STALL_S
                        )
                    stalled = True
                    continue
                stalled = False
                held = await self._renew_once(engine)
                if held is False:
                    main.call_soon_threadsafe(
                        self._lose, "the database says it expired or another gateway took it"
                    )
                    return
        finally:
            await engine.dispose()

    async def _renew_once(self, engine: AsyncEngine) -> bool | None:
        """Renew; True or False as the database says, None when it did not answer."""
        assert self.epoch is not None
        sent = time.monotonic()
        try:
            # No longer than the holder may go on: past that, the deadline decides.
            async with asyncio.timeout(self.timings.hold_s), engine.begin() as conn:
                held = await rows.renew(
                    conn, self.name, self.holder, self.epoch, self.timings.ttl_s
                )
        except _DB_ERRORS as exc:
            self._db_failed("lease renewal failed", exc)
            return None
        self._db_ok()
        if held and self.role is Role.ACTIVE:
            # A float store, atomic for the loop that reads it; only ever moved forward.
            self._deadline = max(self._deadline, sent + self.timings.hold_s)
        return held

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        # On the gateway's loop, at the deadline or every half renewal: a heartbeat for the
        # renewing thread, and the end of the lease when the deadline passed. loop.time() is
        # time.monotonic(): after a freeze this runs before the callbacks woken by sockets act.
        self._beat = time.monotonic()
        if self.role is not Role.ACTIVE:
            return
        if self._beat >= self._deadline:
            self._lose(f"not renewed for {self.timings.hold_s:g} s")
            return
        at = min(self._deadline, self._beat + self.timings.renew_s / 2)
        self._timer = loop.call_at(at, self._tick, loop)

    async def _release(self) -> None:
        if not self.valid():
            return
        assert self.epoch is not None
        self.role = Role.LOST
        metrics.LEASE_ACTIVE.set(0)
        with contextlib.suppress(*_DB_ERRORS):
            async with asyncio.timeout(self.timings.renew_s), self.engine.begin() as conn:
                await rows.release(conn, self.name, self.holder, self.epoch)
            log.info("lease %s epoch %d released", self.name, self.epoch)

    # --- the fence and the guard ---------------------------------------------------------------

    async def fence(self, conn: AsyncConnection) -> None:
        """The store's fence: first in every writing transaction (see ``StoreBase.fence``).

        Raises:
            FencedError: the lease is lost, expired or another's; nothing is written.
        """
        if not self.valid() or self.epoch is None:
            metrics.FENCED_COMMITS.inc()
            self._overdue()
            raise FencedError(self.name, self.epoch or 0, None, f"not held ({self.role})")
        try:
            await rows.check_fence(conn, self.name, self.epoch, idle_s=self.timings.hold_s)
        except FencedError as exc:
            metrics.FENCED_COMMITS.inc()
            self._lose(exc.why)
            raise

    def check(self, what: str) -> None:
        """Raise LeaseLostError unless the lease is held now (before a side effect)."""
        if not self.valid():
            metrics.FENCED_DELIVERIES.inc()
            self._overdue()
            raise LeaseLostError(f"{what} refused: lease {self.name} not held ({self.role})")

    def _overdue(self) -> None:
        # The deadline passed before its timer ran (a frozen or busy loop): lost all the same.
        if self.role is Role.ACTIVE:
            self._lose(f"not renewed for {self.timings.hold_s:g} s")

    def _db_failed(self, what: str, exc: BaseException) -> None:
        if not self._failing:
            log.warning("%s: %s", what, exc or type(exc).__name__)
        self._failing = True

    def _db_ok(self) -> None:
        if self._failing:
            log.warning("lease %s: the database answers again", self.name)
        self._failing = False


def _engine_options(url: str, t: LeaseTimings) -> dict[str, Any]:
    options: dict[str, Any] = {"pool_size": 1, "max_overflow": 1, "pool_pre_ping": True}
    if "+asyncpg" in url:
        options["connect_args"] = {
            "timeout": t.hold_s,
            "command_timeout": t.hold_s,
            "server_settings": {"application_name": "isogate-lease"},
        }
    return options
