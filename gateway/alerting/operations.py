"""What people do to alerts (acknowledge, resolve), each committed before it is answered."""

from __future__ import annotations

from collections.abc import Callable

from gateway.alerting.desk import AlertDesk, AlertError
from gateway.clock import Clock
from gateway.store import Store
from gateway.store.records import Alert, OutboxItem, Writes


class AlertOps:
    """Acknowledge and resolve alerts from the API, the console or a police app."""

    def __init__(
        self, store: Store, desk: AlertDesk, clock: Clock, wake: Callable[[list[OutboxItem]], None]
    ) -> None:
        self.store = store
        self.desk = desk
        self.clock = clock
        self._wake = wake

    async def ack(self, alert_id: str, by: str) -> Alert:
        """Acknowledge an alert; raises AlertError (404 unknown, 409 resolved)."""
        return await self._do(alert_id, lambda a, now, w: self.desk.ack(a, by, now, w))

    async def resolve(self, alert_id: str, by: str, note: str | None) -> Alert:
        """Resolve an alert with a note; raises AlertError."""
        return await self._do(alert_id, lambda a, now, w: self.desk.resolve(a, by, note, now, w))

    async def _do(self, alert_id: str, change: Callable[..., Alert]) -> Alert:
        async with self.desk.lock:
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
            try:
                fresh = await self.store.commit(w)
            except Exception:
                self.desk.discard()
                raise
            self.desk.install(w)
        self._wake(fresh)
        return changed
