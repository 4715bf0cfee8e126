"""The shift handover: at each shift change, what the next watchers take over, and whether
they accepted it.

Published (through the outbox, so it survives a crash like an alert does) on
``<base>/handover`` and ``<base>/handover/to/<watcher>`` for each watcher on duty after the
change: the unresolved alerts (acknowledged ones too) of the households they watch, and the
events of the shift that ended. The handover is kept in the store in the same transaction; one
nobody accepted within the policy's ``handover_accept_s`` escalates its still-open alerts one
step.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from gateway.alerting.desk import AlertDesk
from gateway.ids import ulid
from gateway.store import Store
from gateway.store.records import Alert, Handover, OutboxItem, Writes
from rules.alerts import AlertStatus
from rules.coverage import shift_boundaries
from rules.directory import Directory
from rules.roster import shift_active

LAST_HANDOVER = "handover.last"


def boundaries_between(directory: Directory, after: datetime, upto: datetime) -> list[datetime]:
    """Shift changes in ``(after, upto]``."""
    return [
        b
        for b in shift_boundaries(
            directory.shifts, after, upto + timedelta(seconds=1), directory.tz
        )
        if after < b <= upto
    ]


def handing(directory: Directory, at: datetime) -> tuple[list[str], list[str]]:
    """Who hands over at ``at`` and who takes over: the watchers on duty just before, and at."""
    before = at - timedelta(seconds=1)
    tz = directory.tz
    ending = sorted({s.watcher for s in directory.shifts if shift_active(s, before, tz)})
    starting = sorted({s.watcher for s in directory.shifts if shift_active(s, at, tz)})
    return ending, starting


def handed_over(directory: Directory, at: datetime, alerts: Iterable[Alert]) -> list[Alert]:
    """The alerts raised by ``at`` and unresolved, of the households the watchers on duty at
    ``at`` watch (all of them when nobody is on duty: someone must see them), oldest first."""
    tz = directory.tz
    shifts = [s for s in directory.shifts if shift_active(s, at, tz)]
    return sorted(
        (
            a
            for a in alerts
            if a.status is not AlertStatus.RESOLVED
            and a.raised_at <= at
            and (not shifts or any(s.covers_household(a.household_id) for s in shifts))
        ),
        key=lambda a: (a.raised_at, a.id),
    )


async def summary(
    store: Store,
    desk: AlertDesk,
    directory: Directory,
    at: datetime,
    staged: Mapping[str, Alert] | None = None,
) -> dict[str, Any]:
    """The handover at ``at``: who hands to whom, unresolved alerts, the ended shift's events.

    ``staged``: alert changes of the same step not yet committed (an escalation of this tick).
    """
    ending, starting = handing(directory, at)
    earlier = shift_boundaries(directory.shifts, at - timedelta(days=1), at, directory.tz)
    since = earlier[-1] if earlier else at - timedelta(hours=8)
    counts = await store.event_counts(since, at)
    alerts = {a.id: a for a in await store.unresolved_alerts()} | dict(staged or {})
    tz = directory.tz
    return {
        "at": at.astimezone(tz).isoformat(timespec="seconds"),
        "shift_start": since.astimezone(tz).isoformat(timespec="seconds"),
        "from": ending,
        "to": starting,
        "open_alerts": [desk.payload(a) for a in handed_over(directory, at, alerts.values())],
        "events": [{"household": h, "kind": k, "count": n} for h, k, n in counts],
    }


def queue_summary(w: Writes, body: dict[str, Any], base_topic: str, at: datetime) -> str:
    """Put a handover on the outbox, to everyone and to each incoming watcher."""
    handover_id = ulid(at)
    text = json.dumps(body | {"id": handover_id}, ensure_ascii=False)
    targets = [("*", f"{base_topic}/handover")]
    targets += [(p, f"{base_topic}/handover/to/{p}") for p in body["to"]]
    for person, topic in targets:
        w.outbox.append(OutboxItem(handover_id, "mqtt", person, topic, text, at))
    return handover_id


async def hand_over(
    store: Store, desk: AlertDesk, directory: Directory, last: datetime, now: datetime, w: Writes
) -> None:
    """Stage the handover of every shift change in ``(last, now]``: published and kept."""
    for b in boundaries_between(directory, last, now):
        body = await summary(store, desk, directory, b, w.alerts)
        handover_id = queue_summary(w, body, desk.base_topic, now)
        ids = tuple(a["id"] for a in body["open_alerts"])
        w.handovers.append(Handover(handover_id, b, tuple(body["to"]), ids))


async def escalate_unaccepted(
    store: Store, desk: AlertDesk, directory: Directory, now: datetime, w: Writes
) -> list[Alert]:
    """Escalate, one step, the still-open alerts of each handover nobody accepted in time."""
    upto = now - timedelta(seconds=directory.policy.handover_accept_s)
    moved: list[Alert] = []
    for h in await store.unaccepted_handovers(upto):
        # One that escalated in this very tick for its own timeout has moved its step already.
        ids = [a for a in h.alert_ids if a not in w.alerts]
        moved += desk.escalate(ids, now, w, f"handover {h.id} not accepted")
        w.handovers_escalated[h.id] = now
    return moved
