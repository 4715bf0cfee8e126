"""The alert desk: one active alert per (household, type, device), its lifecycle and its news.

Changes are staged into a :class:`Writes` and installed in memory only after the store has
committed them, so the in-memory book never runs ahead of the database. Every change of an
alert is announced through the outbox, in the same transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any

from gateway.alerting.ladder import step_up
from gateway.alerting.news import AlertNews
from gateway.bus import AlertChanged, Bus
from gateway.ids import ulid
from gateway.store.alerts import STEP
from gateway.store.records import Alert, HistoryEntry, Step, Writes
from rules import escalation, plans
from rules.alerts import AlertStatus, AlertType, Clear, Decision, Raise, Seen
from rules.care import fast_escalation
from rules.deadlines import Deadlines
from rules.directory import Directory


class AlertError(Exception):
    """An operation on an alert that cannot be done; ``code`` is the HTTP status to answer."""

    def __init__(self, message: str, code: int = 409) -> None:
        super().__init__(message)
        self.code = code


class AlertDesk(AlertNews):
    """The in-memory book of active alerts, and the operations that change alerts."""

    def __init__(
        self, directory: Directory, base_topic: str, link: Any = None, bus: Bus | None = None
    ) -> None:
        self.bus = bus or Bus()
        self.base_topic = base_topic
        self.lock = asyncio.Lock()
        self._link = link or (lambda path: path)
        self._active: dict[tuple[str, str, str], Alert] = {}
        # When each active alert's ack timeout runs out, so that a tick escalates what is due
        # without looking at every active alert; keys handed out by the current step's
        # ``escalate_due`` (True: it does not escalate as things stand, see there).
        self._escalations: Deadlines[tuple[str, str, str]] = Deadlines()
        self._looked_at: dict[tuple[str, str, str], bool] = {}
        self.directory = directory
        self._active_ids: dict[str, tuple[str, str, str]] = {}  # id → key, for ``find``
        # The latest acknowledged, unresolved alert per key: a repeat makes a new alert, but the
        # condition's end (the door closed) still resolves it.
        self._acked: dict[tuple[str, str, str], Alert] = {}
        self._staged: dict[str, Alert] = {}
        # The ids of the staged alerts of each key, in the order they were first staged: a
        # step that raises 10,000 alerts (a reading window's end) looks each key up once, not
        # by a walk over every alert staged before it.
        self._staged_keys: dict[tuple[str, str, str], list[str]] = {}
        self._rendered: dict[str, tuple[Alert, dict[str, Any]]] = {}
        # Whether a camera will give evidence for a new alert of this household and type; the
        # alert then links its snapshot (set by the composition root when cameras are watched).
        self.evidence: Callable[[str, AlertType], bool] | None = None
        # Signs a path for a message sent at a time (``gateway.links``): SMS and bot messages
        # then carry links a phone opens without a login, until they expire.
        self.signed: Callable[[str, datetime], str] | None = None

    @property
    def directory(self) -> Directory:
        """The site in use."""
        return self._directory

    @directory.setter
    def directory(self, directory: Directory) -> None:
        # A new site may escalate other severities, or have a household back: look again.
        self._directory = directory
        self._escalations.rebuild((k, a.next_escalation_at) for k, a in self._active.items())

    # --- lifetime -----------------------------------------------------------------------------

    def restore(self, alerts: list[Alert]) -> None:
        """Load the unresolved alerts from the store (active ones and acknowledged ones)."""
        self._active = {a.key: a for a in alerts if a.status.is_active}
        self._active_ids = {a.id: k for k, a in self._active.items()}
        self._acked = {}
        for a in sorted(alerts, key=lambda a: a.raised_at):
            if a.status is AlertStatus.ACKNOWLEDGED:
                self._acked[a.key] = a
        self._staged.clear()
        self._staged_keys.clear()
        self._looked_at.clear()
        self._escalations.rebuild((k, a.next_escalation_at) for k, a in self._active.items())

    def active(self) -> list[Alert]:
        """Active alerts, as committed."""
        return list(self._active.values())

    def install(self, w: Writes) -> None:
        """The store committed ``w``: make its alert changes the book's."""
        for alert in w.alerts.values():
            if alert.status.is_active:
                replaced = self._active.get(alert.key)
                if replaced is not None:
                    self._active_ids.pop(replaced.id, None)
                self._active[alert.key] = alert
                self._active_ids[alert.id] = alert.key
            elif self._active.get(alert.key, alert).id == alert.id:
                self._active.pop(alert.key, None)
                self._active_ids.pop(alert.id, None)
            latest = self._acked.get(alert.key)
            if alert.status is AlertStatus.ACKNOWLEDGED:
                # A step ticked on an older acknowledged alert leaves the latest one the latest.
                if latest is None or latest.id == alert.id or latest.raised_at <= alert.raised_at:
                    self._acked[alert.key] = alert
            elif latest is not None and latest.id == alert.id:
                self._acked.pop(alert.key, None)
            self.bus.publish(AlertChanged(alert, self.rendered(alert)))
        changed = {a.key for a in w.alerts.values()}
        for key, parked in self._looked_at.items():
            if parked and key not in changed:
                self._escalations.set(key, None)
            else:
                changed.add(key)
        self._reschedule(changed)
        self._staged.clear()
        self._staged_keys.clear()
        self._rendered.clear()

    def discard(self) -> None:
        """The commit failed: forget what was staged."""
        self._reschedule(set(self._looked_at))
        self._staged.clear()
        self._staged_keys.clear()
        self._rendered.clear()

    def _reschedule(self, keys: Iterable[tuple[str, str, str]]) -> None:
        """The escalation deadlines of ``keys`` from the committed book."""
        for key in keys:
            alert = self._active.get(key)
            self._escalations.set(key, alert.next_escalation_at if alert is not None else None)
        self._looked_at.clear()

    def _staged_of(self, key: tuple[str, str, str]) -> list[Alert]:
        """The staged alerts of a key, in the order they were first staged."""
        return [self._staged[i] for i in self._staged_keys.get(key, ())]

    def _current(self, key: tuple[str, str, str]) -> Alert | None:
        staged = self._staged_of(key)
        for alert in staged:
            if alert.status.is_active:
                return alert
        return None if staged else self._active.get(key)

    def _acknowledged(self, key: tuple[str, str, str]) -> Alert | None:
        """The latest acknowledged, unresolved alert of a key (staged or committed)."""
        found = self._acked.get(key)
        for alert in self._staged_of(key):
            if alert.status is AlertStatus.ACKNOWLEDGED:
                found = alert
        if found is not None:
            found = self._staged.get(found.id, found)
        return found if found is not None and found.status is AlertStatus.ACKNOWLEDGED else None

    def _stage(self, w: Writes, alert: Alert) -> None:
        if alert.id not in self._staged:
            self._staged_keys.setdefault(alert.key, []).append(alert.id)
        self._staged[alert.id] = alert
        w.alerts[alert.id] = alert

    # --- decisions from the rules -------------------------------------------------------------

    def apply(self, decision: Decision, now: datetime, w: Writes) -> Alert | None:
        """Stage what a rule decided; returns the alert it created or changed."""
        if isinstance(decision, Raise):
            return self._raise(decision, now, w)
        if isinstance(decision, Seen):
            return self._seen(decision, now, w)
        return self._clear(decision, now, w)

    def _raise(self, d: Raise, now: datetime, w: Writes) -> Alert:
        current = self._current(d.key)
        if current is not None:
            alert = replace(
                current,
                count=current.count + 1,
                last_seen_at=d.at,
                updated_at=now,
                message=d.message,
            )
            self._stage(w, alert)
            w.history.append(HistoryEntry(alert.id, now, "repeated", None, d.message))
            self._announce(alert, w, now, change="repeated")
            return alert
        alert_id = ulid(now)
        alert = Alert(
            id=alert_id,
            type=d.type,
            severity=d.severity,
            household_id=d.household,
            device_id=d.device,
            status=AlertStatus.OPEN,
            raised_at=d.at,
            updated_at=now,
            last_seen_at=d.at,
            count=1,
            recipients=d.recipients,
            escalation_level=0,
            message=d.message,
            next_escalation_at=escalation.next_escalation(
                0, now, self.directory.policy, fast=fast_escalation(d.type, d.vulnerable)
            ),
            snapshot=self._snapshot(alert_id, d),
            resident_id=d.resident,
            vulnerable=d.vulnerable,
        )
        self._stage(w, alert)
        w.new_alert_ids.add(alert.id)
        w.history.append(HistoryEntry(alert.id, now, "raised", None, d.message))
        self._announce(alert, w, now, change="raised")
        return alert

    def _seen(self, d: Seen, now: datetime, w: Writes) -> Alert | None:
        """Mark a door breach as seen by the camera (once); consoles are told, nobody buzzed."""
        current = self._current(d.key) or self._acknowledged(d.key)
        if current is None or current.seen_at is not None:
            return None
        alert = replace(current, seen_at=d.motion_at, updated_at=now)
        self._stage(w, alert)
        local = d.motion_at.astimezone(self.directory.tz)
        said = f"摄像头 {d.camera} {local:%H:%M:%S} 见门口有人"
        w.history.append(HistoryEntry(alert.id, now, "seen_by_camera", None, said))
        self._announce(alert, w, now, change="seen")
        return alert

    def _snapshot(self, alert_id: str, d: Raise) -> str | None:
        """The snapshot path of a new alert a camera will give evidence for, else None."""
        if self.evidence is None or not self.evidence(d.household, d.type):
            return None
        return f"/api/v1/alerts/{alert_id}/snapshot"

    def _clear(self, d: Clear, now: datetime, w: Writes) -> Alert | None:
        # An acknowledged alert is still unresolved: the end of its condition resolves it too.
        # (Only clears look at it; a new Raise after an acknowledgement is a new alert.)
        current = self._current(d.key) or self._acknowledged(d.key)
        if current is None:
            return None
        return self._resolve(current, "system", d.reason, now, w)

    def escalate_due(self, now: datetime, w: Writes) -> list[Alert]:
        """Move every unacknowledged alert whose ack timeout ran out up the ladder.

        Looks only at the alerts whose timeout ran out (an index kept with the book). One that
        does not escalate as things stand (its severity, its household gone from the site) is
        not looked at again until it changes or the site does.
        """
        moved = []
        keys = self._escalations.due(now)
        # And the alerts this step changed (their new time is not in the index before install).
        keys += [a.key for a in self._staged.values()]
        for key in dict.fromkeys(keys):
            self._looked_at[key] = False
            committed = self._active.get(key)
            if committed is None:
                continue
            alert = self._staged.get(committed.id, committed)
            if alert.status.is_active and escalation.due(
                alert.escalation_level, alert.next_escalation_at, now, acked=False
            ):
                up = self._escalate(alert, now, w, "")
                if up is not None:
                    moved.append(up)
                else:
                    self._looked_at[key] = True
        return moved

    def escalate(self, alert_ids: Iterable[str], now: datetime, w: Writes, why: str) -> list[Alert]:
        """Move these alerts one step up the ladder now, those still unacknowledged (a handover
        nobody accepted). ``why`` is said in each one's history."""
        moved = []
        for alert_id in alert_ids:
            alert = self.find(alert_id)
            if alert is not None and alert.status.is_active:
                up = self._escalate(alert, now, w, why)
                if up is not None:
                    moved.append(up)
        return moved

    def _escalate(self, alert: Alert, now: datetime, w: Writes, why: str) -> Alert | None:
        """One step up the ladder (:func:`~gateway.alerting.ladder.step_up`), staged and told."""
        stepped = step_up(alert, self.directory, now)
        if stepped is None:
            return None
        up, added = stepped
        self._stage(w, up)
        said = f"level {up.escalation_level}: +{','.join(added)}" + (f" ({why})" if why else "")
        w.history.append(HistoryEntry(alert.id, now, "escalated", None, said))
        self._announce(up, w, now, change="escalated", cancel_on_ack=True, added=tuple(added))
        return up

    # --- people -------------------------------------------------------------------------------

    def find(self, alert_id: str) -> Alert | None:
        """An active alert by id (staged or committed)."""
        if alert_id in self._staged:
            return self._staged[alert_id]
        key = self._active_ids.get(alert_id)
        return None if key is None else self._active.get(key)

    def ack(
        self,
        alert: Alert,
        by: str,
        now: datetime,
        w: Writes,
        note: str | None = None,
        via: str | None = None,
    ) -> Alert:
        """Acknowledge: escalation stops, queued escalation notices are cancelled."""
        if alert.status is AlertStatus.RESOLVED:
            raise AlertError(f"alert {alert.id} is already resolved")
        if alert.status is AlertStatus.ACKNOWLEDGED:
            return alert
        return self._settle(
            alert, w, now, AlertStatus.ACKNOWLEDGED, by, note, via, acked_by=by, acked_at=now
        )

    def resolve(
        self,
        alert: Alert,
        by: str,
        note: str | None,
        now: datetime,
        w: Writes,
        via: str | None = None,
    ) -> Alert:
        """Resolve with a note; a door breach needs one."""
        if alert.status is AlertStatus.RESOLVED:
            raise AlertError(f"alert {alert.id} is already resolved")
        if alert.type is AlertType.DOOR_BREACH and not (note and note.strip()):
            raise AlertError("resolving a door breach needs a note", code=422)
        return self._resolve(alert, by, note, now, w, via)

    def step(
        self, alert: Alert, step: str, by: str, now: datetime, w: Writes, via: str | None = None
    ) -> Alert:
        """Tick a step of the alert type's response plan (rules/plans.py); consoles are told."""
        if step not in plans.step_keys(alert.type):
            raise AlertError(f"{step!r} is not a step of the {alert.type.value} plan", code=422)
        if alert.status is AlertStatus.RESOLVED:
            raise AlertError(f"alert {alert.id} is already resolved")
        changed = replace(alert, steps=(*alert.steps, Step(step, by, now)), updated_at=now)
        self._stage(w, changed)
        w.history.append(HistoryEntry(alert.id, now, STEP, by, step, via))
        self._announce(changed, w, now, change="step")
        return changed

    def _resolve(
        self,
        alert: Alert,
        by: str,
        note: str | None,
        now: datetime,
        w: Writes,
        via: str | None = None,
    ) -> Alert:
        return self._settle(
            alert,
            w,
            now,
            AlertStatus.RESOLVED,
            by,
            note,
            via,
            resolved_by=by,
            resolved_at=now,
            note=note,
        )

    def _settle(
        self,
        alert: Alert,
        w: Writes,
        now: datetime,
        status: AlertStatus,
        by: str,
        said: str | None,
        via: str | None,
        **fields: Any,
    ) -> Alert:
        """Acknowledge or resolve: escalation stops, queued escalation notices are dropped."""
        changed = replace(alert, status=status, updated_at=now, next_escalation_at=None, **fields)
        self._stage(w, changed)
        w.history.append(HistoryEntry(alert.id, now, status.value, by, said, via))
        w.cancel_outbox_for.add(alert.id)
        self._announce(changed, w, now, change=status.value)
        return changed
