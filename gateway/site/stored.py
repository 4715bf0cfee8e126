"""The site as the store keeps it: merged by id, checked whole, revisioned for live reload."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Collection, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from gateway.site.check import check_site, merge_sites
from gateway.site.errors import SiteFileError
from gateway.site.files import read_site_file
from gateway.store import Store
from rules.directory import Directory
from rules.site import Household, Site, Staff


@contextlib.contextmanager
def bulk() -> Iterator[None]:
    """The cyclic garbage collector paused while a whole site is read, checked or compiled.

    Such work allocates a million objects that all stay alive until it ends, and every collection
    meanwhile walks them all: at 10,000 households that was more than half the time. Nothing it
    makes is cyclic garbage, so pausing loses nothing; collection resumes afterwards.
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


async def stored_site(store: Store) -> tuple[int, Site | None]:
    """The stored site and its revision (0 and None before anything was loaded)."""
    staff: list[Staff] = []
    households: list[Household] = []

    def take(kind: str, doc: dict[str, Any]) -> None:
        # Each document becomes its model as it arrives and is dropped: at 50,000 households
        # the documents of the whole site would double the peak memory of a start.
        if kind == "households":
            households.append(Household.model_validate(doc))
        else:
            staff.append(Staff.model_validate(doc))

    with bulk():
        revision, rest = await store.read_site_each(take)
        if not revision:
            return 0, None
        return revision, Site.model_validate({**rest, "staff": staff, "households": households})


async def stored_households(store: Store, ids: Collection[str]) -> Site | None:
    """The stored site with no staff and only the named households (None before anything was
    loaded): for work on a few households of a large site, the retention purge, which would
    otherwise hold a second copy of the whole site beside the running gateway's."""
    revision, rest, docs = await store.read_site_part("households", ids)
    if not revision:
        return None
    return Site.model_validate({**rest, "households": docs})


FREEZE_AT = 5_000
"""Households from which a compiled site is put out of the cyclic collector's sight."""


async def current_directory(store: Store) -> tuple[int, Directory]:
    """The site compiled for the rules; an empty site before anything was loaded.

    A large site is a million objects that live as long as the site: every full collection
    walked them all, a pause of 0.6–1.2 s at 50,000 households that a breach alert would wait
    behind. From ``FREEZE_AT`` households they are frozen (``gc.freeze``) once compiled; they
    are still freed by reference counting when a new revision replaces them.
    """
    with bulk():
        revision, site = await stored_site(store)
        directory = Directory.build(site or Site())
    if len(directory.households) >= FREEZE_AT:
        gc.freeze()
    return revision, directory


async def load_file(store: Store, path: Path, at: datetime) -> int:
    """``isogate load`` / ``import``: read a site file or register, merge, check, store.

    Naive times in the file are in the stored site's zone unless the file names one. Raises
    SiteFileError listing every problem (with file lines or register rows) in one refusal: the
    file's own errors and the cross-reference errors of its valid entities; nothing is stored.
    """
    with bulk():
        _, stored = await stored_site(store)
        doc = read_site_file(path, timezone=stored.timezone if stored else None, partial=True)
        merged = merge_sites(stored, doc.site)
        errors = doc.all_errors(merged)
        if errors:
            raise SiteFileError(errors)
        return await _store(store, doc.site, merged, at)


async def save_site(store: Store, new: Site, source: str, at: datetime) -> int:
    """Merge ``new`` into the stored site by id, check the result whole, and store it.

    Raises SiteFileError listing every problem; nothing is stored then.
    """
    with bulk():
        _, stored = await stored_site(store)
        merged = merge_sites(stored, new)
        errors = check_site(merged, source)
        if errors:
            raise SiteFileError(errors)
        return await _store(store, new, merged, at)


async def _store(store: Store, new: Site, merged: Site, at: datetime) -> int:
    """Write what ``new`` brings (by id) and the merged site's zone, roster, policy."""
    entities = {
        "staff": {s.id: s.model_dump(mode="json", exclude_none=True) for s in new.staff},
        "households": {h.id: h.model_dump(mode="json", exclude_none=True) for h in new.households},
    }
    meta: dict[str, object] = {
        "timezone": merged.timezone,
        "community": merged.community,
        "hotline": merged.hotline,
    }
    if new.policy is not None:
        meta["policy"] = new.policy.model_dump(mode="json")
    if new.shifts is not None:
        meta["shifts"] = [s.model_dump(mode="json", exclude_none=True) for s in new.shifts]
    if new.channels is not None:
        meta["channels"] = [c.model_dump(mode="json", exclude_none=True) for c in new.channels]
    for key in ("community", "hotline"):
        if getattr(new, key) is not None:
            meta[key] = getattr(new, key)
    return await store.save_site(entities=entities, meta=meta, at=at)
