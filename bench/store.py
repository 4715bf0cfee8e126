"""The store alone: what one pipeline commit costs on SQLite (WAL, aiosqlite, SQLAlchemy Core).

Run: ``make bench`` (or ``python -m bench.store``). Prints wall and CPU per commit for an
event-only step and for a breach step (event, device state, alert, history, three notices,
then the notices marked delivered).
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from gateway.store import Store
from gateway.store.event_data import DoorData
from gateway.store.records import (
    DeviceStatus,
    EventRecord,
    HistoryEntry,
    OutboxItem,
    Writes,
)
from tests.samples import breach_alert

N = 1000


def _event(t: datetime, seq: int) -> EventRecord:
    return EventRecord(
        t,
        t,
        "mqtt",
        "isogate/dev/door-h1/event",
        "native:door-h1",
        "door-h1",
        "h1",
        "door",
        seq,
        "change/breach",
        DoorData(open=True),
        f"{seq:032x}",
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        async with Store.open(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}") as store:
            t = datetime.now(UTC)
            w0, c0 = time.perf_counter(), time.process_time()
            for i in range(N):
                await store.commit(Writes(events=[_event(t, i)]))
            event_only = ((time.perf_counter() - w0) / N, (time.process_time() - c0) / N)

            alert = breach_alert(t, message="门磁: 幸福小区 开门")
            await store.commit(Writes(alerts={alert.id: alert}, new_alert_ids={alert.id}))
            w0, c0 = time.perf_counter(), time.process_time()
            for i in range(N):
                items = await store.commit(
                    Writes(
                        events=[_event(t, N + i)],
                        devices={"door-h1": DeviceStatus("door-h1", "h1", t, door_open=True)},
                        alerts={alert.id: alert},
                        history=[HistoryEntry(alert.id, t, "repeated")],
                        outbox=[
                            OutboxItem(alert.id, "mqtt", p, f"isogate/alerts/to/{p}", "{}", t)
                            for p in ("*", "p1", "w1")
                        ],
                    )
                )
                await store.outbox_done([x.id for x in items if x.id is not None], t)
            breach = ((time.perf_counter() - w0) / N, (time.process_time() - c0) / N)
    print(f"store, {N} commits each (process CPU includes the database thread):")
    print(
        f"  event only:            {event_only[0] * 1e3:.2f} ms wall, "
        f"{event_only[1] * 1e3:.2f} ms CPU per commit"
    )
    print(
        f"  breach + delivered:    {breach[0] * 1e3:.2f} ms wall, "
        f"{breach[1] * 1e3:.2f} ms CPU per step"
    )


if __name__ == "__main__":
    asyncio.run(main())
