"""A mapping whose changes are staged until the caller installs or discards them.

The rules' state runs ahead of the database while a batch is decided: it must become current only
when the transaction that records the batch commits, and vanish when it fails (STYLE.md
practice 3). :class:`Staged` keeps the committed entries and a small layer of staged changes that
reads fall through to, so staging one change costs O(1) and installing or discarding a batch costs
O(changes), whatever the number of entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Final, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class _Removed:
    """Marks an entry removed in the staged layer."""

    __slots__ = ()


_REMOVED: Final = _Removed()
_MISSING: Final = object()


class Staged(MutableMapping[K, V]):
    """A dict of committed entries with a layer of staged changes on top.

    Reads (``[]``, ``get``, ``in``, iteration) see the staged layer; writes and deletions go to it.
    ``install`` makes the staged changes committed, ``discard`` drops them.
    """

    def __init__(self, committed: Mapping[K, V] | None = None) -> None:
        self._committed: dict[K, V] = dict(committed or {})
        self._staged: dict[K, V | _Removed] = {}

    def __getitem__(self, key: K) -> V:
        if key in self._staged:
            value = self._staged[key]
            if isinstance(value, _Removed):
                raise KeyError(key)
            return value
        return self._committed[key]

    @overload
    def get(self, key: K, /) -> V | None: ...

    @overload
    def get(self, key: K, /, default: V | T) -> V | T: ...

    def get(self, key: K, /, default: object = None) -> object:
        # Mapping.get goes through __getitem__ and a KeyError for every miss; the rules ask
        # several times an event, mostly for keys the batch has not staged.
        value = self._staged.get(key, _MISSING)
        if value is _MISSING:
            return self._committed.get(key, default)
        return default if value is _REMOVED else value

    def __setitem__(self, key: K, value: V) -> None:
        self._staged[key] = value

    def __delitem__(self, key: K) -> None:
        if key not in self:
            raise KeyError(key)
        self._staged[key] = _REMOVED

    def __contains__(self, key: object) -> bool:
        if key in self._staged:
            return not isinstance(self._staged[key], _Removed)
        return key in self._committed

    def __iter__(self) -> Iterator[K]:
        for key in self._committed:
            if not isinstance(self._staged.get(key), _Removed):
                yield key
        for key, value in self._staged.items():
            if key not in self._committed and not isinstance(value, _Removed):
                yield key

    def __len__(self) -> int:
        n = len(self._committed)
        for key, value in self._staged.items():
            if key in self._committed:
                n -= isinstance(value, _Removed)
            else:
                n += not isinstance(value, _Removed)
        return n

    def __repr__(self) -> str:
        return f"Staged({dict(self.items())!r})"

    @property
    def pending(self) -> int:
        """How many entries the staged layer changes."""
        return len(self._staged)

    def staged_keys(self) -> list[K]:
        """The keys the staged layer changes (set or removed), oldest change first."""
        return list(self._staged)

    def committed(self) -> Mapping[K, V]:
        """The entries as committed, without the staged layer (read only)."""
        return self._committed

    def replace_all(self, entries: Mapping[K, V]) -> None:
        """Stage whatever turns the current entries into ``entries``: O(entries + current).

        Only entries that differ (by identity: rule states are immutable, an unchanged one is
        the same object) are staged, so a tick that changes little stages little.
        """
        for key in [k for k in self if k not in entries]:
            self._staged[key] = _REMOVED
        for key, value in entries.items():
            if key not in self or self[key] is not value:
                self._staged[key] = value

    def retain(self, keep: Callable[[K], bool]) -> None:
        """Drop, committed and staged alike, every entry whose key ``keep`` refuses."""
        self._committed = {k: v for k, v in self._committed.items() if keep(k)}
        self._staged = {k: v for k, v in self._staged.items() if keep(k)}

    def install(self) -> None:
        """Make the staged changes committed."""
        for key, value in self._staged.items():
            if isinstance(value, _Removed):
                self._committed.pop(key, None)
            else:
                self._committed[key] = value
        self._staged.clear()

    def discard(self) -> None:
        """Drop the staged changes: the entries are as last committed."""
        self._staged.clear()
