"""What a batch asks the store about messages it may have stored before: one query per kind.

Two questions need the event log: whether a message the broker marked DUP is one already
stored (:meth:`BatchLookups.redelivered`), and what content a sequence number was stored with,
when the device's window has seen it (:meth:`BatchLookups.seq_digest`). Asked message by
message, each was a query on the event loop with the alert desk held, ~1 ms: the thousands
of messages a broker sends again after the gateway was killed under load took about a second
per thousand, and a door opening queued behind them waited as long. The first question of a
batch now fetches what every message of the batch could ask; the answers are the same as the
single queries', which remain for the rare case the fetched rows cannot settle.

Memory: the fetched rows of one batch (at most a row per device and digest, per device and
sequence number, of its messages), dropped with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from devices.events import Decoded
from gateway.ingest.arrival import Arrival, digest
from gateway.ingest.dedup import SeqMemory, SeqVerdict
from gateway.store import Store
from gateway.store.events import came_as
from rules.directory import Directory

REDELIVERY_WINDOW = timedelta(hours=6)
"""How far back a message marked DUP is looked for among the stored ones."""


class BatchLookups:
    """The store's answers about one batch's messages, fetched at the first question."""

    def __init__(
        self,
        store: Store,
        arrivals: Sequence[Arrival],
        decoded: Sequence[Decoded],
        directory: Directory,
        seqs: SeqMemory,
    ) -> None:
        self._store = store
        self._arrivals = arrivals
        self._decoded = decoded
        self._directory = directory
        self._seqs = seqs
        self._digests: dict[tuple[str, int], str | None] = {}  # looked up; None: none stored
        self._newest: dict[tuple[str, str], tuple[int, int | None, datetime]] | None = None
        self._fetched: set[tuple[str, str]] = set()  # (device key, digest) pairs asked for

    async def seq_digest(self, key: str, seq: int) -> str | None:
        """The digest of the newest event stored with ``(key, seq)`` (None: none stored)."""
        if (key, seq) not in self._digests:
            pairs = {(key, seq)}
            if not self._digests:  # the batch's first question: all it may ask
                pairs.update(self._seen_pairs())
            found = await self._store.seq_digests(pairs)
            self._digests.update((p, found.get(p)) for p in pairs)
        return self._digests[(key, seq)]

    def _seen_pairs(self) -> set[tuple[str, int]]:
        """(device key, seq) of the batch's events of bound devices that the window has seen."""
        bound, verdict = self._directory.bound, self._seqs.verdict
        return {
            (e.device.key(), e.seq)
            for decoded in self._decoded
            if isinstance(decoded, list)
            for e in decoded
            if e.seq is not None
            and bound(e.device) is not None
            and verdict(e.device.key(), e.seq) is SeqVerdict.SEEN
        }

    async def redelivered(
        self, keys: set[str], dig: str, mid: int | None, received_at: datetime
    ) -> bool:
        """Whether the newest event of ``keys`` stored within ``REDELIVERY_WINDOW`` of
        ``received_at`` with this digest came as ``mid`` (either without a packet id: yes)."""
        since = received_at - REDELIVERY_WINDOW
        if self._newest is None:
            self._newest = await self._fetch_newest()
        if any((k, dig) not in self._fetched for k in keys):  # not a DUP message of the batch
            return await self._store.is_redelivery(keys, dig, mid, since)
        rows = [self._newest[(k, dig)] for k in keys if (k, dig) in self._newest]
        if not rows:
            return False  # nothing since the earliest message's window, so nothing since this
        _, stored_mid, at = max(rows)
        if at < since:
            # The newest is older than this message's window, an older one cannot be in it:
            # unless ids and receipt times disagree (a clock set back). Asked alone.
            return await self._store.is_redelivery(keys, dig, mid, since)
        return came_as(stored_mid, mid)

    async def _fetch_newest(self) -> dict[tuple[str, str], tuple[int, int | None, datetime]]:
        pairs: set[tuple[str, str]] = set()
        earliest: datetime | None = None
        for arrival, decoded in zip(self._arrivals, self._decoded, strict=True):
            if arrival.dup and isinstance(decoded, list):
                dig = digest(arrival.topic, arrival.payload)
                pairs.update((e.device.key(), dig) for e in decoded)
                if earliest is None or arrival.received_at < earliest:
                    earliest = arrival.received_at
        self._fetched = pairs
        if earliest is None:
            return {}
        return await self._store.newest_by_digest(pairs, earliest - REDELIVERY_WINDOW)
