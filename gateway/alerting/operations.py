"""What people do to alerts (acknowledge, resolve, tick a plan step), each committed before it
is answered.

A person at the console must hear back in bounded time even when the database is locked (a
full disk, a long backup): given ``within``, an operation that has not committed by then is
abandoned, its staged changes discarded, and :class:`DatabaseBusyError` says so. The abandoned
commit unwinds in the background; should it have committed after all, the desk takes the
stored alert, so the book never disagrees with the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from gateway.alerting.desk import AlertDesk, AlertError
from gateway.clock import Clock
from gateway.store import Store
from gateway.store.records import Alert, AuditEntry, OutboxItem, Writes

log = logging.getLogger("isogate.alerting")

ANSWER_WITHIN_S = 3.0
"""How long the API lets an acknowledgement or resolution wait for the database."""


class DatabaseBusyError(Exception):
    """The database did not take a change in time; nothing was changed.

    Attributes:
        reason: what was waited for, for the person who asked.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"database busy: {reason}")
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Actor:
    """Who acts on an alert, for the audit log (no role: not audited here)."""

    action: str
    by: str
    role: str | None
    via: str | None
    detail: str | None = None

    def entry(self, at: datetime, alert: Alert) -> AuditEntry:
        return AuditEntry(
            at=at,
            actor=self.by,
            role=self.role or "",
            action=self.action,
            via=self.via or "rest",
            target=alert.id,
            household=alert.household_id,
            detail=self.detail,
        )


class AlertOps:
    """Acknowledge and resolve alerts from the API, the console or a police app."""

    def __init__(
        self, store: Store, desk: AlertDesk, clock: Clock, wake: Callable[[list[OutboxItem]], None]
    ) -> None:
        self.store = store
        self.desk = desk
        self.clock = clock
        self._wake = wake
        self._unwinding: set[asyncio.Task[None]] = set()

    async def ack(
        self,
        alert_id: str,
        by: str,
        within: float | None = None,
        *,
        note: str | None = None,
        via: str | None = None,
        recipient_only: bool = False,
        role: str | None = None,
    ) -> Alert:
        """Acknowledge an alert.

        Args:
            alert_id: the alert.
            by: who acknowledges (the authenticated person, never a name a message claims).
            within: seconds to wait for the database; None waits as long as it takes.
            note: what they said with it, kept in the alert's history.
            via: how it arrived (console, rest, mqtt, link), kept in the alert's history.
            recipient_only: only a person the alert was sent to (or an escalation reached) may
                acknowledge it, as on the MQTT ack topics (SPEC §3).
            role: the actor's role; given, the action is written to the audit log in the same
                transaction as the change itself.

        Raises:
            AlertError: 404 unknown, 409 resolved, 403 ``by`` not a recipient (``recipient_only``).
            DatabaseBusyError: not committed within ``within``.
        """

        def change(alert: Alert, now: datetime, w: Writes) -> Alert:
            if recipient_only and by not in alert.recipients:
                # Checked under the desk's lock: escalation only ever adds recipients.
                raise AlertError(f"{by} is not among the recipients of alert {alert.id}", 403)
            return self.desk.ack(alert, by, now, w, note, via)

        return await self._do(alert_id, change, within, _Actor("ack", by, role, via))

    async def resolve(
        self,
        alert_id: str,
        by: str,
        note: str | None,
        within: float | None = None,
        *,
        via: str | None = None,
        role: str | None = None,
    ) -> Alert:
        """Resolve an alert with a note; raises AlertError, or DatabaseBusyError as :meth:`ack`."""
        return await self._do(
            alert_id,
            lambda a, now, w: self.desk.resolve(a, by, note, now, w, via),
            within,
            _Actor("resolve", by, role, via),
        )

    async def step(
        self,
        alert_id: str,
        step: str,
        by: str,
        within: float | None = None,
        *,
        via: str | None = None,
        role: str | None = None,
    ) -> Alert:
        """Record a response-plan step; raises AlertError (404, 409 resolved, 422 not a step of
        the alert type's plan) or DatabaseBusyError as :meth:`ack`."""
        return await self._do(
            alert_id,
            lambda a, now, w: self.desk.step(a, step, by, now, w, via),
            within,
            _Actor("step", by, role, via, step),
        )

    async def _do(
        self,
        alert_id: str,
        change: Callable[..., Alert],
        within: float | None,
        actor: _Actor | None = None,
    ) -> Alert:
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        try:
            # The pipeline holds the desk while its own commit waits on a locked database.
            async with asyncio.timeout_at(deadline):
                await self.desk.lock.acquire()
        except TimeoutError:
            raise DatabaseBusyError(
                f"the alert desk waited {within:g} s for the database"
            ) from None
        try:
            alert = self.desk.find(alert_id) or await self.store.get_alert(alert_id)
            if alert is None:
                raise AlertError(f"no alert {alert_id}", code=404)
            w = Writes()
            now = self.clock.now()
            try:
                changed = change(alert, now, w)
            except AlertError:
                self.desk.discard()
                raise
            if not w:
                return changed
            if actor is not None and actor.role is not None:
                w.audit.append(actor.entry(now, alert))
            self.desk.seal(w)
            commit = asyncio.ensure_future(self.store.commit(w))
            try:
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                await asyncio.wait({commit}, timeout=timeout)
            finally:
                if not commit.done():
                    self._abandon(commit, alert.id)
            if not commit.done():
                raise DatabaseBusyError(f"alert {alert_id} was not changed within {within:g} s")
            try:
                fresh = commit.result()
            except BaseException:
                self.desk.discard()
                raise
            self.desk.install(w)
        finally:
            self.desk.lock.release()
        self._wake(fresh)
        return changed

    def _abandon(self, commit: asyncio.Future[list[OutboxItem]], alert_id: str) -> None:
        """Give up on a commit (the lock is still held): its staged changes are forgotten."""
        commit.cancel()
        self.desk.discard()
        task = asyncio.ensure_future(self._settle(commit, alert_id))
        self._unwinding.add(task)
        task.add_done_callback(self._unwinding.discard)

    async def _settle(self, commit: asyncio.Future[list[OutboxItem]], alert_id: str) -> None:
        """Once the abandoned commit has unwound, let the desk follow what the store holds."""
        # A cancelled transaction unwinds only when the database answers again.
        await asyncio.wait({commit})
        try:
            stored = await self.store.get_alert(alert_id)
            async with self.desk.lock:
                held = self.desk.find(alert_id)
                if stored is not None and held is not None and stored.updated_at > held.updated_at:
                    # The commit landed just before it was cancelled: take the stored truth.
                    log.warning("alert %s changed although its request timed out", alert_id)
                    self.desk.install(Writes(alerts={stored.id: stored}))
        except Exception:
            log.exception("could not check alert %s after an abandoned change", alert_id)
