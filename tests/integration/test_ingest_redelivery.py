"""What a batch asks the event log about messages stored before is asked once per batch.

A broker sends a dead gateway's unacknowledged messages again, marked DUP, thousands after a
kill under load; a device may resend its last messages, or restart its count. Each message's
question was a query of its own on the event loop; now the batch's first question fetches the
answers for all its messages, and the answers are the same.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.ingest.arrival import Arrival
from gateway.store import Store
from tests.conftest import Harness

DEVICES = ("door-h2", "therm-r2")  # the test community's two native devices, both of h2


def count_calls(monkeypatch: pytest.MonkeyPatch, store: Store, name: str) -> list[Any]:
    """The arguments of each call of the store's ``name``, which still answers as before."""
    calls: list[Any] = []
    real: Callable[..., Any] = getattr(store, name)

    async def counted(*args: Any) -> Any:
        calls.append(args[0] if len(args) == 1 else args)
        return await real(*args)

    monkeypatch.setattr(store, name, counted)
    return calls


def beat(h: Harness, device: str, at: datetime, seq: int | None = None, mid: int = 0) -> Arrival:
    """A heartbeat of ``device`` stamped ``at`` (its content differs with ``at`` and ``seq``)."""
    body: dict[str, Any] = {"type": "heartbeat", "ts": at.timestamp()}
    if seq is not None:
        body["seq"] = seq
    topic = f"{h.base}/dev/{device}/event"
    return Arrival("mqtt", topic, json.dumps(body).encode(), at, mid=mid)


async def _stored(h: Harness) -> list[tuple[str, float]]:
    beats = await h.running.store.household_events("h2", kind="heartbeat", limit=1000)
    return sorted((e.device_id or "", e.ts.timestamp()) for e in beats)


async def test_messages_the_broker_sends_again_are_looked_up_once_per_batch(
    gateway: Harness, monkeypatch: pytest.MonkeyPatch
):
    """One batch of DUP messages: redeliveries dropped, a new message with the same bytes kept,
    one stored out of the window kept, one whose original is in the batch dropped: one query,
    and one more for the message the fetched rows cannot settle."""
    running, now = gateway.running, datetime.now(UTC)
    fetches = count_calls(monkeypatch, running.store, "newest_by_digest")
    singles = count_calls(monkeypatch, running.store, "is_redelivery")
    t = now - timedelta(minutes=10)
    kept = [beat(gateway, d, t + timedelta(seconds=i), mid=100 + i) for i, d in enumerate(DEVICES)]
    # Stored seven hours ago (received then): outside a message's six-hour window.
    old_at = now - timedelta(hours=7)
    old = beat(gateway, "door-h2", old_at - timedelta(seconds=5), mid=7)
    await running.ingest._settle([replace(old, received_at=old_at), *kept])
    assert fetches == [] and singles == []

    fresh = beat(gateway, "therm-r2", now, mid=300)
    batch = [
        replace(kept[0], dup=True),  # the same packet again: a redelivery
        replace(kept[1], dup=True, mid=201),  # same bytes, another packet: a new message
        fresh,
        replace(fresh, dup=True),  # its original is in this batch
        # Received three hours ago (a serial receiver's): its window reaches back nine hours,
        # so the fetch finds the old event, which is outside the next message's window.
        replace(beat(gateway, "door-h2", now - timedelta(hours=3), mid=400), dup=True,
                received_at=now - timedelta(hours=3)),
        replace(old, dup=True, received_at=now),  # the 7-hour-old one, again: past its window
    ]  # fmt: skip
    await running.ingest._settle(batch)
    assert len(fetches) == 1
    assert len(singles) == 1  # the old event is in the fetch's span, not the last message's
    stored = await _stored(gateway)
    expected = [
        ("door-h2", old.received_at.timestamp()),  # kept once, and once more as new
        ("door-h2", old.received_at.timestamp()),
        ("door-h2", (now - timedelta(hours=3)).timestamp()),
        ("door-h2", t.timestamp()),
        ("therm-r2", (t + timedelta(seconds=1)).timestamp()),
        ("therm-r2", (t + timedelta(seconds=1)).timestamp()),
        ("therm-r2", now.timestamp()),
    ]
    assert stored == sorted(expected)


async def test_numbers_seen_before_are_looked_up_once_per_batch(
    gateway: Harness, monkeypatch: pytest.MonkeyPatch
):
    """Two devices resend their last three messages, and one has restarted its count: one
    query for the batch; the repeats are dropped, the restarted device's new report is kept."""
    running, t0 = gateway.running, datetime.now(UTC)
    store = running.store
    lookups: list[set[tuple[str, int]]] = []
    real = store.seq_digests

    async def counted(pairs: Collection[tuple[str, int]]) -> dict[tuple[str, int], str]:
        lookups.append(set(pairs))
        return await real(pairs)

    monkeypatch.setattr(store, "seq_digests", counted)

    def beat(device: str, seq: int, at: datetime) -> Arrival:
        body = json.dumps({"type": "heartbeat", "seq": seq, "ts": at.timestamp()}).encode()
        return Arrival("mqtt", f"{gateway.base}/dev/{device}/event", body, at)

    sent = {d: [beat(d, i, t0 + timedelta(seconds=i)) for i in range(1, 6)] for d in DEVICES}
    await running.ingest._settle([a for d in DEVICES for a in sent[d]])
    assert lookups == []
    restarted = beat("therm-r2", 5, t0 + timedelta(seconds=60))  # seq 5 again, new content
    await running.ingest._settle([*sent["door-h2"][2:], restarted, *sent["therm-r2"][3:4]])
    # Every pair seen before, fetched at the first lookup (therm-r2's 4 too, though the restart
    # made it new by the time it came).
    assert lookups == [
        {("native:door-h2", 3), ("native:door-h2", 4), ("native:door-h2", 5)}
        | {("native:therm-r2", 4), ("native:therm-r2", 5)}
    ]
    beats = await store.household_events("h2", kind="heartbeat")
    # The restart forgot therm-r2's numbers: its seq 4 that followed is taken as new too.
    assert sorted((e.device_id or "", e.seq or 0) for e in beats) == sorted(
        [(d, i) for d in DEVICES for i in range(1, 6)] + [("therm-r2", 5), ("therm-r2", 4)]
    )
