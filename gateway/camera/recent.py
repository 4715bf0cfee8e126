"""A bounded memory of recent keys: what the camera flow remembers of unbounded input.

Camera ids heard but not bound, Frigate event ids, alert ids already captured: each arrives from
outside without limit, so each is remembered in one of these, newest last, the oldest forgotten
past ``limit``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """Keys with a value each, at most ``limit``; setting a key makes it the newest."""

    def __init__(self, limit: int) -> None:
        """Remember at most ``limit`` keys."""
        self.limit = limit
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        """The value of a key still remembered, else None."""
        return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)

    def put(self, key: K, value: V) -> None:
        """Remember ``key`` as the newest; forget the oldest past the limit."""
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.limit:
            self._items.popitem(last=False)
