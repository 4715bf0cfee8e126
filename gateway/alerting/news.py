"""The news of an alert: how it is rendered (SPEC §3) and queued on every channel that carries it.

A mixin of :class:`gateway.alerting.desk.AlertDesk`: it reads the desk's directory, base topic
and link maker, and writes only to the :class:`Writes` it is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from gateway.notify.channels.base import Notification
from gateway.store.records import Alert, OutboxItem, Writes
from rules.care import vulnerable_label
from rules.directory import Directory
from rules.site import ChannelKind

QUIET = ("repeated", "seen", "step")
"""Changes that update consoles (the all-alerts topic) but buzz nobody: the people already
told are not told again that the door opened again, that a camera saw who opened it (the
snapshot link was in the alert), or that a watcher ticked a step of the response plan.

Within one step (a batch of events is one), an alert's quiet changes in a row go out on the
all-alerts topic once, as the last of them left the alert: a door chattering at hundreds of
openings a second is then a console update per commit, not one per opening (the consoles'
WebSocket stream already gets one per alert and step)."""


class AlertNews:
    """Rendering and queueing alert news; mixed into the alert desk."""

    directory: Directory
    base_topic: str
    _link: Callable[[str], str]
    signed: Callable[[str, datetime], str] | None
    """Signs an API path with an expiry, for links in messages a phone opens without a login."""
    _rendered: dict[str, tuple[Alert, dict[str, Any]]]
    """The payload each alert of the step being staged was announced with, for the consoles."""

    def link(self, path: str) -> str:
        """A link to an API path as alerts give it (a snapshot's)."""
        return self._link(path)

    def payload(self, alert: Alert) -> dict[str, Any]:
        """The alert as SPEC §3 publishes it, with who acted on it and the plan steps ticked."""
        hh = self.directory.households.get(alert.household_id)
        tz = self.directory.tz

        def local(t: datetime | None) -> str | None:
            return None if t is None else t.astimezone(tz).isoformat(timespec="milliseconds")

        return {
            "id": alert.id,
            "type": alert.type.value,
            "severity": alert.severity.value,
            "household": alert.household_id,
            "address": hh.address if hh else None,
            "device": alert.device_id,
            "raised_at": local(alert.raised_at),
            "status": alert.status.value,
            "recipients": list(alert.recipients),
            "escalation_level": alert.escalation_level,
            "message": alert.message,
            "snapshot": self._link(alert.snapshot) if alert.snapshot else None,
            "seen_by_camera": alert.seen_at is not None,
            "count": alert.count,
            "updated_at": local(alert.updated_at),
            "acked_by": alert.acked_by,
            "acked_at": local(alert.acked_at),
            "resolved_by": alert.resolved_by,
            "resolved_at": local(alert.resolved_at),
            "note": alert.note,
            "steps": [{"step": s.step, "by": s.by, "at": local(s.at)} for s in alert.steps],
            "vulnerable": list(alert.vulnerable),
        }

    def rendered(self, alert: Alert) -> dict[str, Any]:
        """The payload of an alert: the one it was announced with in this step, if it was."""
        found = self._rendered.get(alert.id)
        return found[1] if found is not None and found[0] is alert else self.payload(alert)

    def _announce(
        self,
        alert: Alert,
        w: Writes,
        now: datetime,
        *,
        change: str,
        cancel_on_ack: bool = False,
        added: tuple[str, ...] = (),
    ) -> None:
        """Queue the news of an alert change on every channel that carries it."""
        base = self.base_topic
        quiet = change in QUIET
        if quiet and (at := w.quiet_news.get(alert.id)) is not None:
            # The same alert's last news on the all-alerts topic in this step was quiet too:
            # both are committed at once, so nobody could ever see the earlier state. That
            # item is to say this one, rendered when the step is sealed (every change is
            # still in the alert's history).
            w.unrendered[at] = (alert, now)
            return
        payload = self.payload(alert)
        self._rendered[alert.id] = (alert, payload)
        body = json.dumps(payload, ensure_ascii=False)
        if quiet:  # its all-alerts item, the first one queued below
            w.quiet_news[alert.id] = len(w.outbox)
        else:
            w.quiet_news.pop(alert.id, None)
        targets = [("*", f"{base}/alerts")]
        if not quiet:
            targets += [(p, f"{base}/alerts/to/{p}") for p in alert.recipients]
        for who, topic in targets:
            w.outbox.append(
                OutboxItem(alert.id, "mqtt", who, topic, body, now, cancel_on_ack=cancel_on_ack)
            )
        if quiet:
            return  # nor by SMS or group message
        d = self.directory
        for channel in d.site.channels or []:
            if not channel.carries(alert.type, alert.severity, alert.household_id):
                continue
            staff = [d.staff[p] for p in alert.recipients if p in d.staff]
            people = [p for p in staff if not channel.roles or p.role in channel.roles]
            if channel.kind is ChannelKind.SMS:
                if change not in ("raised", "escalated"):
                    continue
                for person in people:
                    if person.phone and (change == "raised" or person.id in added):
                        w.outbox.append(
                            OutboxItem(
                                alert.id,
                                channel.id,
                                person.id,
                                person.phone,
                                self._notice(alert, person.id, now),
                                now,
                                cancel_on_ack=cancel_on_ack,
                            )
                        )
            elif people or not channel.roles:
                w.outbox.append(
                    OutboxItem(
                        alert.id,
                        channel.id,
                        "group",
                        channel.url or "",
                        self._notice(alert, None, now),
                        now,
                        cancel_on_ack=cancel_on_ack,
                    )
                )

    def seal(self, w: Writes) -> None:
        """Render the news left to the end of the step; call it before committing ``w``."""
        for at, (alert, now) in w.unrendered.items():
            payload = self.payload(alert)
            self._rendered[alert.id] = (alert, payload)
            body = json.dumps(payload, ensure_ascii=False)
            w.outbox[at] = replace(w.outbox[at], body=body, created_at=now)
        w.unrendered.clear()

    def _notice(self, alert: Alert, person: str | None, now: datetime) -> str:
        """What a channel needs to render the alert for one person (or a group)."""
        hh = self.directory.households.get(alert.household_id)
        staff = self.directory.staff.get(person or "")
        sign = self.signed
        snapshot = alert.snapshot and (sign(alert.snapshot, now) if sign else alert.snapshot)
        return Notification(
            alert_id=alert.id,
            type=alert.type,
            severity=alert.severity,
            status=alert.status,
            household_id=alert.household_id,
            address=hh.address if hh else alert.household_id,
            device_id=alert.device_id,
            # Channels say the vulnerability in the text itself: 【重点关注:独居老人】…
            message=vulnerable_label(alert.vulnerable) + alert.message,
            raised_at=alert.raised_at,
            escalation_level=alert.escalation_level,
            snapshot_url=snapshot,
            alert_url=sign(f"/l/alert/{alert.id}", now) if sign else None,
            recipient_id=person or "group",
            recipient_name=staff.name if staff else None,
            phone=staff.phone if staff else None,
            recipients=tuple(alert.recipients),
            acked_by=alert.acked_by,
            acked_at=alert.acked_at,
            resolved_by=alert.resolved_by,
            resolved_at=alert.resolved_at,
            note=alert.note,
        ).to_json()
