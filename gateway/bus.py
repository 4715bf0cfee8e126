"""In-process fan-out of what just happened (alert changes, device events) to live viewers.

Only committed facts are published. A viewer that falls behind loses its oldest items, never
slows the pipeline: the store stays the record, the stream is for eyes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Any

QUEUE_MAX = 1000


class Bus:
    """Subscribers each get a bounded queue of JSON-ready dicts."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()

    def publish(self, item: dict[str, Any]) -> None:
        """Hand an item to every subscriber (dropping a slow one's oldest)."""
        for q in self._subscribers:
            if q.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(item)

    @contextlib.contextmanager
    def subscribe(self) -> Iterator[asyncio.Queue[dict[str, Any]]]:
        """A queue that receives everything published while the block runs."""
        q: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_MAX)
        self._subscribers.add(q)
        try:
            yield q
        finally:
            self._subscribers.discard(q)
