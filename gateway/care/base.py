"""What the isolation's operations share: the pipeline's lock and commit, the bus, the audit.

Every operation runs under the alert desk's lock, as a pipeline step does: it stages the watch's
new state and the alert desk's changes, commits them with the paperwork and the audit entry in
one transaction, and only then installs them.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import TypeVar

from gateway.alerting.operations import ANSWER_WITHIN_S, DatabaseBusyError
from gateway.bus import CareChanged
from gateway.clock import Clock
from gateway.ingest.pipeline import Pipeline
from gateway.links import LinkSigner
from gateway.store import Store
from gateway.store.records import AuditEntry, OutboxItem, Writes
from rules.care import CareRefusedError
from rules.directory import Directory
from rules.site import Household

T = TypeVar("T")

log = logging.getLogger("isogate.care")


class CareBase:
    """The pipeline, the store and the clock the isolation's operations work with."""

    def __init__(
        self,
        pipeline: Pipeline,
        store: Store,
        clock: Clock,
        wake: Callable[[list[OutboxItem]], None],
        links: LinkSigner | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.clock = clock
        self._wake = wake
        self._links = links
        self._by_hash: dict[str, str] = {}  # secret hash → household
        self._generation: dict[str, int] = {}  # household → its link's generation
        self.on_release: Callable[[str, datetime], Awaitable[None]] | None = None
        """Archives a released household's report (household, period start); set by the
        composition root, run after the release committed."""
        self._background: set[asyncio.Task[None]] = set()

    @property
    def directory(self) -> Directory:
        """The site as the pipeline sees it now."""
        return self.pipeline.directory

    async def load(self) -> None:
        """Read the resident links' generations from the store."""
        gens = await self.store.link_generations()
        self._generation = {hh: g for hh, (g, _) in gens.items()}
        self._by_hash = {h: hh for hh, (_, h) in gens.items()}

    def _household(self, household_id: str) -> Household:
        hh = self.directory.households.get(household_id)
        if hh is None:
            raise CareRefusedError(f"no household {household_id}", 404)
        return hh

    def _tell(self, household: str, what: str, data: Mapping[str, object], at: datetime) -> None:
        local = at.astimezone(self.directory.tz)
        self.pipeline.desk.bus.publish(CareChanged(household, what, data, local))

    async def _step(
        self, change: Callable[[datetime, Writes], T], within: float = ANSWER_WITHIN_S
    ) -> T:
        """Stage a change under the desk's lock, commit it, install it; answer within ``within``
        seconds, or raise DatabaseBusyError (503).

        A commit still waiting on a locked database when the time is up is cancelled (its
        transaction rolls back once the database answers) and keeps the desk's lock until then:
        should it have committed all the same, it is installed, else discarded, so the watch
        never disagrees with the store.
        """
        desk = self.pipeline.desk
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        try:
            async with asyncio.timeout_at(deadline):
                await desk.lock.acquire()
        except TimeoutError:
            raise DatabaseBusyError(f"the desk waited {within:g} s for the database") from None
        w = Writes()
        try:
            result = change(self.clock.now(), w)
        except BaseException:
            self.pipeline.discard()
            desk.lock.release()
            raise
        desk.seal(w)
        commit = asyncio.ensure_future(self.store.commit(w))
        await asyncio.wait({commit}, timeout=max(0.0, deadline - loop.time()))
        if not commit.done():
            commit.cancel()
            task = asyncio.ensure_future(self._settle(commit, w))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
            raise DatabaseBusyError(f"the change was not committed within {within:g} s")
        try:
            items = self._settled(commit, w)
        finally:
            desk.lock.release()
        self._wake(items)
        return result

    async def _settle(self, commit: asyncio.Future[list[OutboxItem]], w: Writes) -> None:
        """A commit the caller stopped waiting for: install or discard it once it ends, then
        free the desk."""
        try:
            await asyncio.wait({commit})
            if commit.cancelled():
                self.pipeline.discard()
                return
            items = self._settled(commit, w)
        except Exception:
            log.exception("a late isolation change failed to commit")
            return
        finally:
            self.pipeline.desk.lock.release()
        log.warning("an isolation change committed after its caller was told 503")
        self._wake(items)

    def _settled(self, commit: asyncio.Future[list[OutboxItem]], w: Writes) -> list[OutboxItem]:
        """Install a commit that succeeded, discard one that failed (and raise its error)."""
        try:
            items = commit.result()
        except BaseException:
            self.pipeline.discard()
            raise
        self.pipeline.install(w)
        return items


def secret_hash(secret: str) -> str:
    """What the store keeps of a link's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def audit(
    at: datetime,
    actor: str,
    role: str,
    action: str,
    via: str,
    target: str | None,
    household: str,
    detail: str | None = None,
) -> AuditEntry:
    """An audit entry of an isolation operation."""
    return AuditEntry(at, actor, role, action, via, target, household, detail)
