"""The base of every site model: a typo in a key fails loudly, and a large site stays small."""

from __future__ import annotations

import sys
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """Base of every site model: a typo in a key fails loudly.

    A site of 50,000 households is a quarter of a million of these, and half the memory of each
    was its own set of the field names it was given (``model_fields_set``): instances given the
    same fields now share one set. Site models are not assigned to after validation (changes go
    through ``model_copy``), which copies the set, so the sharing is never visible.

    The values then move to a dict that shares its keys with every instance of the model
    (CPython's key-sharing instance dicts): pydantic builds each instance's ``__dict__`` as a
    dict of its own, a hash table sized for its keys (464 bytes for a device's 14 fields), where
    a key-sharing dict holds only the values (184). That is 0.8 KB less per household of the
    demo community, 37 MiB at 50,000 households, for about 1 µs per model. It is a dict all the
    same: nothing that reads or copies it can tell.
    """

    model_config = ConfigDict(extra="forbid", frozen=False)

    _shared: ClassVar[tuple[str, ...]] = ()
    """Fields whose values repeat across a site (a staff id, a default): kept once."""

    def model_post_init(self, context: Any, /) -> None:
        """Share the set of given field names, and the values of ``_shared`` fields."""
        given = self.__pydantic_fields_set__
        object.__setattr__(
            self, "__pydantic_fields_set__", _FIELDS_SETS.setdefault(frozenset(given), given)
        )
        values = self.__dict__
        for name in self._shared:
            value = values[name]
            kind = type(value)
            if kind is str:
                values[name] = sys.intern(value)
            elif kind is float:
                values[name] = _FLOATS.setdefault(value, value)
            elif kind is list and value:
                values[name] = [sys.intern(v) if type(v) is str else v for v in value]
        # A fresh instance's __dict__ shares the class's keys; filled in field order, it stays so.
        shared = object.__new__(type(self)).__dict__
        for name, value in values.items():
            shared[name] = value
        object.__setattr__(self, "__dict__", shared)


# Distinct sets of given field names: a few dozen, whatever the size of the site.
_FIELDS_SETS: dict[frozenset[str], set[str]] = {}
# Distinct values of shared float fields (a camera's sensitivity): a handful.
_FLOATS: dict[float, float] = {}
