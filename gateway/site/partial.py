"""Validating a site file entity by entity, so that one refusal can list every error.

A file with a structural error (a wrong type, a missing field) used to be refused before its
cross-references were checked: the operator fixed one batch of errors only to meet the next.
Here what fails is taken out, smallest part first (a field of a list item, then the item), until
the rest validates: the valid entities form a partial site that ``check_site`` can still
cross-check. The errors reported are those of the file as written; what was taken out is
remembered (``failed``) so that a reference to a failed entity is not reported a second time,
and the list positions are remembered (``kept``) so that the cross-check's paths point at the
file's own lines.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from gateway.site.errors import Loc, Locator, SiteError, render
from rules.site import Site

Kept = Mapping[str, tuple[Sequence[int], int]]
"""List path (as the file has it) → the indices of its items that were kept, and its length."""

# Each round takes at least one more part out; a site file has far fewer nested levels.
_MAX_ROUNDS = 24
# Where an entity that others refer to by id sits, and the kind its id is of.
_REFERABLE: tuple[tuple[tuple[type | str, ...], str], ...] = (
    (("staff", int), "staff"),
    (("households", int), "household"),
    (("households", int, "residents", int), "resident"),
)


@dataclass(frozen=True)
class Partial:
    """The valid part of a site file and what its validation found.

    Attributes:
        site: the entities that validated; None when the file could not be taken apart (then
            there is nothing to cross-check).
        errors: every validation error of the file as written, placed on its lines.
        failed: ``(kind, id)`` of the staff, households and residents that failed validation.
        kept: which list items made it into ``site`` (see ``Kept``).
    """

    site: Site | None
    errors: list[SiteError]
    failed: frozenset[tuple[str, str]] = frozenset()
    kept: Kept = field(default_factory=dict)


def validate_partial(
    data: Mapping[str, object], locator: Locator, skip: Collection[Loc] = ()
) -> Partial:
    """Validate ``data`` as a Site, keeping what validates.

    Args:
        data: the file's site document.
        locator: places errors on the file's lines.
        skip: paths whose errors were already reported in the file's own words.

    Returns:
        The partial site and every validation error (empty when the whole file is valid).
    """
    try:  # the usual case, a valid file: no pruned copy of a document of 50,000 households
        return Partial(Site.model_validate(data), [])
    except ValidationError:
        pass
    removed: set[Loc] = set()
    errors: list[SiteError] | None = None
    for _ in range(_MAX_ROUNDS):
        kept: dict[str, tuple[Sequence[int], int]] = {}
        pruned = _without(data, (), removed, kept)
        try:
            site = Site.model_validate(pruned)
        except ValidationError as exc:
            if errors is None:  # later rounds only see what taking parts out caused
                errors = locator.validation_errors(exc, skip)
            victims = {
                _victim(original_loc(_real_path(pruned, err["loc"]), kept), removed)
                for err in exc.errors(include_url=False)
            }
            if victims <= removed:
                break
            removed |= victims
        else:
            return Partial(site, errors or [], _failed(data, removed), kept)
    return Partial(None, errors or [])


def original_loc(loc: Loc, kept: Kept) -> Loc:
    """A path in the partial (or merged) site as the file has it.

    Items past the kept ones (a merged site lists the stored entries after the file's) land past
    the file's own items, where no line of the file is.
    """
    out: Loc = ()
    for part in loc:
        if isinstance(part, int) and render(out) in kept:
            indices, length = kept[render(out)]
            part = indices[part] if part < len(indices) else length + part - len(indices)
        out = (*out, part)
    return out


def _without(
    node: object, at: Loc, removed: set[Loc], kept: dict[str, tuple[Sequence[int], int]]
) -> object:
    if isinstance(node, Mapping):
        return {
            k: _without(v, (*at, k), removed, kept)
            for k, v in node.items()
            if (*at, k) not in removed
        }
    if isinstance(node, list):
        indices = [i for i in range(len(node)) if (*at, i) not in removed]
        kept[render(at)] = (indices, len(node))
        return [_without(node[i], (*at, i), removed, kept) for i in indices]
    return node


def _real_path(data: object, raw: Sequence[str | int]) -> Loc:
    """The part of a pydantic loc that is a path in ``data`` (union tags and missing keys off)."""
    out: Loc = ()
    node = data
    for part in raw:
        in_mapping = isinstance(node, Mapping) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_mapping or in_list:
            node = node[part]  # type: ignore[index]  # narrowed by the two tests above
            out = (*out, part)
    return out


def _victim(loc: Loc, removed: set[Loc]) -> Loc:
    """What to take out for an error at ``loc``: the field of the list item it is in, else the
    item; at the top level, the key (its default then applies)."""
    items = [i for i, part in enumerate(loc) if isinstance(part, int)]
    if not items:
        return loc[:1]
    last = items[-1]
    field_of_item = loc[: last + 2]
    if len(loc) > last + 1 and field_of_item not in removed:
        return field_of_item
    return loc[: last + 1]


def _failed(data: Mapping[str, object], removed: set[Loc]) -> frozenset[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for loc in removed:
        for shape, kind in _REFERABLE:
            if len(loc) == len(shape) and all(
                isinstance(p, int) if s is int else p == s for p, s in zip(loc, shape, strict=True)
            ):
                item = _at(data, loc)
                if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                    out.add((kind, item["id"]))
    return frozenset(out)


def _at(data: object, loc: Loc) -> object:
    node = data
    for part in loc:
        if isinstance(node, Mapping):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    return node
