"""The shift handover summary: at each shift change, what the next watcher takes over.

Published (through the outbox, so it survives a crash like an alert does) on
``<base>/handover`` and ``<base>/handover/to/<watcher>`` for each watcher whose shift starts:
the open alerts of the households they watch, and the events of the shift that ended.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from gateway.alerting.desk import AlertDesk
from gateway.ids import ulid
from gateway.store import Store
from gateway.store.records import OutboxItem, Writes
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


async def summary(
    store: Store, desk: AlertDesk, directory: Directory, at: datetime
) -> dict[str, Any]:
    """The handover at ``at``: who hands to whom, open alerts, the ended shift's events."""
    before = at - timedelta(seconds=1)
    ending = sorted({s.watcher for s in directory.shifts if shift_active(s, before, directory.tz)})
    starting = sorted({s.watcher for s in directory.shifts if shift_active(s, at, directory.tz)})
    earlier = shift_boundaries(directory.shifts, at - timedelta(days=1), at, directory.tz)
    since = earlier[-1] if earlier else at - timedelta(hours=8)
    counts = await store.event_counts(since, at)
    tz = directory.tz
    return {
        "at": at.astimezone(tz).isoformat(timespec="seconds"),
        "shift_start": since.astimezone(tz).isoformat(timespec="seconds"),
        "from": ending,
        "to": starting,
        "open_alerts": [desk.payload(a) for a in sorted(desk.active(), key=lambda a: a.raised_at)],
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
