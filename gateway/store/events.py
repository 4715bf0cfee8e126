"""The event log and device state: the pipeline's one-transaction step, and reading it back."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.clock import epoch, from_epoch
from gateway.store import rows
from gateway.store import schema as t
from gateway.store.care import write_care
from gateway.store.handovers import write_handovers
from gateway.store.intake import keep_bounded
from gateway.store.plan import plan, rest
from gateway.store.planned import PlannedOps
from gateway.store.records import (
    DeviceStatus,
    EventRecord,
    OutboxItem,
    UnknownSighting,
    Writes,
)


def came_as(stored_mid: int | None, mid: int | None) -> bool:
    """Whether a message of packet id ``mid`` with a stored event's content is that event come
    again (the stored one's packet id ``stored_mid``; either unknown: taken as the same)."""
    return stored_mid == mid or stored_mid is None or mid is None


SEQ_LOOKUP_CHUNK = 400
"""(device, seq) pairs looked up in one query (two parameters each: far below SQLite's limit)."""


class EventsOps(PlannedOps):
    """Operations on the event log and the devices' state."""

    async def commit(self, w: Writes) -> list[OutboxItem]:
        """Write one pipeline step atomically; returns the outbox items with their ids.

        The step's statements are planned (:mod:`gateway.store.plan`: one statement per table,
        on SQLite run on the driver in one call); what the plan leaves to SQLAlchemy (unknown
        devices, handovers, the paperwork) runs in the same transaction.
        """
        if w.unrendered:
            raise RuntimeError("a step's alert news was not rendered: AlertDesk.seal(w) first")

        async def write_rest(conn: AsyncConnection) -> None:
            for sighting in w.unknown:
                await _upsert_unknown(conn, sighting)
            await write_handovers(conn, w)
            if w.care:
                await write_care(conn, w)
            await keep_bounded(conn, w)

        ids = await self.run_plan(plan(w), write_rest if rest(w) else None)
        return [replace(o, id=i) for o, i in zip(w.outbox, ids, strict=True)]

    async def device_statuses(self) -> list[DeviceStatus]:
        """The last known state of every bound device."""
        async with self.engine.connect() as conn:
            found = (await conn.execute(sa.select(t.device_state))).mappings()
            return [rows.device_from(r) for r in found]

    async def recent_seqs(self, limit: int = 200_000) -> list[tuple[str, int]]:
        """(device_key, seq) of the newest events that carried a sequence number."""
        q = (
            sa.select(t.events.c.device_key, t.events.c.seq)
            .where(t.events.c.seq.is_not(None))
            .order_by(t.events.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [(k, s) for k, s in await conn.execute(q)]

    async def events_since(self, kind: str, since: datetime) -> list[EventRecord]:
        """Events of one kind since a time, oldest first (to replay into the rules)."""
        q = (
            sa.select(t.events)
            .where(t.events.c.kind == kind, t.events.c.ts >= epoch(since))
            .order_by(t.events.c.ts)
        )
        async with self.engine.connect() as conn:
            return [rows.event_from(r) for r in (await conn.execute(q)).mappings()]

    async def is_redelivery(
        self, device_keys: Collection[str], digest: str, mid: int | None, since: datetime
    ) -> bool:
        """Whether the newest event of these devices stored since ``since`` with this digest
        came as ``mid`` (found through the devices' events since then, not a digest index)."""
        newest = await self._newest_by_digest([(k, digest) for k in device_keys], since)
        if not newest:
            return False
        _, stored_mid, _ = max(newest.values())
        return came_as(stored_mid, mid)

    async def seq_digests(self, pairs: Collection[tuple[str, int]]) -> dict[tuple[str, int], str]:
        """The digest of the newest event stored with each ``(device, seq)`` of ``pairs``, for
        those stored at all: one query per ``SEQ_LOOKUP_CHUNK`` pairs, each device's numbers a
        search of the (device_key, seq) index, whatever the number of events a pair has (a
        device that restarts its count stores its numbers again)."""
        c = t.events.c
        wanted = sorted(set(pairs))
        found: dict[tuple[str, int], str] = {}
        async with self.engine.connect() as conn:
            for i in range(0, len(wanted), SEQ_LOOKUP_CHUNK):
                by_device: dict[str, list[int]] = {}
                for key, seq in wanted[i : i + SEQ_LOOKUP_CHUNK]:
                    by_device.setdefault(key, []).append(seq)
                newest = (
                    sa.select(sa.func.max(c.id))
                    .where(
                        sa.or_(
                            *(
                                sa.and_(c.device_key == key, c.seq.in_(seqs))
                                for key, seqs in by_device.items()
                            )
                        )
                    )
                    .group_by(c.device_key, c.seq)
                )
                q = sa.select(c.device_key, c.seq, c.digest).where(c.id.in_(newest))
                for key, seq, dig in await conn.execute(q):
                    found[(key, seq)] = dig
        return found

    async def newest_by_digest(
        self, pairs: Collection[tuple[str, str]], since: datetime
    ) -> dict[tuple[str, str], tuple[int, int | None, datetime]]:
        """For each ``(device key, digest)`` of ``pairs``, the newest event received since
        ``since`` (its id, packet id and receipt time), for those with one; one query per
        ``SEQ_LOOKUP_CHUNK`` pairs, through the devices' events since then."""
        return await self._newest_by_digest(pairs, since)

    async def _newest_by_digest(
        self, pairs: Collection[tuple[str, str]], since: datetime
    ) -> dict[tuple[str, str], tuple[int, int | None, datetime]]:
        # The query of both newest_by_digest (a batch's fetch) and is_redelivery (one message),
        # kept apart so that each public lookup is what its callers, and tests, count.
        c = t.events.c
        wanted = sorted(set(pairs))
        found: dict[tuple[str, str], tuple[int, int | None, datetime]] = {}
        async with self.engine.connect() as conn:
            for i in range(0, len(wanted), SEQ_LOOKUP_CHUNK):
                chunk = wanted[i : i + SEQ_LOOKUP_CHUNK]
                asked = set(chunk)  # the IN lists pair every key with every digest
                newest = (
                    sa.select(sa.func.max(c.id))
                    .where(
                        c.device_key.in_({k for k, _ in chunk}),
                        c.received_at >= epoch(since),
                        c.digest.in_({d for _, d in chunk}),
                    )
                    .group_by(c.device_key, c.digest)
                )
                q = sa.select(c.id, c.device_key, c.digest, c.mid, c.received_at).where(
                    c.id.in_(newest)
                )
                for row_id, key, dig, mid, at in await conn.execute(q):
                    if (key, dig) in asked:
                        found[(key, dig)] = (row_id, mid, from_epoch(at))
        return found

    async def household_events(
        self,
        household_id: str,
        *,
        kind: str | None = None,
        limit: int = 200,
        since: datetime | None = None,
    ) -> list[EventRecord]:
        """A household's events, newest first; ``since``: those of device time from then on."""
        q = (
            sa.select(t.events)
            .where(t.events.c.household_id == household_id)
            .order_by(t.events.c.id.desc())
            .limit(limit)
        )
        if kind:
            q = q.where(t.events.c.kind == kind)
        if since is not None:
            q = q.where(t.events.c.ts >= epoch(since))
        async with self.engine.connect() as conn:
            return [rows.event_from(r) for r in (await conn.execute(q)).mappings()]

    async def event_counts(self, since: datetime, until: datetime) -> list[tuple[str, str, int]]:
        """(household, kind, count) of the events in ``[since, until)``."""
        c = t.events.c
        q = (
            sa.select(c.household_id, c.kind, sa.func.count())
            .where(c.ts >= epoch(since), c.ts < epoch(until), c.household_id.is_not(None))
            .group_by(c.household_id, c.kind)
            .order_by(c.household_id, c.kind)
        )
        async with self.engine.connect() as conn:
            return [(h, k, n) for h, k, n in await conn.execute(q)]

    async def receipt_span(self) -> tuple[datetime, datetime, int]:
        """First and last receipt time in the event log, and how many events it holds."""
        c = t.events.c
        q = sa.select(sa.func.min(c.received_at), sa.func.max(c.received_at), sa.func.count())
        async with self.engine.connect() as conn:
            first, last, n = (await conn.execute(q)).one()
        return from_epoch(first or 0.0), from_epoch(last or 0.0), int(n)

    async def count_events(self) -> int:
        """How many events the log holds."""
        async with self.engine.connect() as conn:
            return (
                await conn.execute(sa.select(sa.func.count()).select_from(t.events))
            ).scalar_one()


async def _upsert_unknown(conn: AsyncConnection, s: UnknownSighting) -> None:
    c = t.unknown_devices.c
    done = await conn.execute(
        t.unknown_devices.update()
        .where(c.device_key == s.device_key)
        .values(last_seen=epoch(s.at), count=c.count + 1, last_payload=s.payload, topic=s.topic)
    )
    if done.rowcount == 0:
        await conn.execute(
            t.unknown_devices.insert().values(
                device_key=s.device_key,
                protocol=s.protocol,
                address=s.address,
                topic=s.topic,
                first_seen=epoch(s.at),
                last_seen=epoch(s.at),
                count=1,
                last_payload=s.payload,
            )
        )
