"""The stored site: entities by (kind, id), meta keys, the revision."""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gateway.clock import epoch
from gateway.store import schema as t
from gateway.store._base import StoreBase, _meta, _set_meta

_SITE_KEYS = ("timezone", "policy", "shifts", "channels", "community", "hotline")
_UPDATE = (
    t.site_entities.update()
    .where(t.site_entities.c.kind == sa.bindparam("k"), t.site_entities.c.id == sa.bindparam("i"))
    .values(doc=sa.bindparam("new_doc"), updated_at=sa.bindparam("new_at"))
)


class SiteOps(StoreBase):
    """Operations on the stored site."""

    async def save_site(
        self, *, entities: dict[str, dict[str, dict[str, Any]]], meta: dict[str, Any], at: datetime
    ) -> int:
        """Upsert site entities by (kind, id) and meta keys; bumps and returns the revision.

        One transaction; per kind one query for the ids already stored, then one multi-row
        insert and one multi-row update (a 50,000-household site is a few statements, not
        100,000).
        """
        c = t.site_entities.c
        stamp = epoch(at)
        async with self._tx() as conn:
            for kind, by_id in entities.items():
                if not by_id:
                    continue
                stored = set((await conn.execute(sa.select(c.id).where(c.kind == kind))).scalars())
                fresh = [
                    {"kind": kind, "id": i, "doc": doc, "updated_at": stamp}
                    for i, doc in by_id.items()
                    if i not in stored
                ]
                changed = [
                    {"k": kind, "i": i, "new_doc": doc, "new_at": stamp}
                    for i, doc in by_id.items()
                    if i in stored
                ]
                if fresh:
                    await conn.execute(t.site_entities.insert(), fresh)
                if changed:
                    await conn.execute(_UPDATE, changed)
            revision = (await _meta(conn, "revision") or 0) + 1
            for key, value in {**meta, "revision": revision}.items():
                await _set_meta(conn, key, value)
        return int(revision)

    async def read_site(self) -> tuple[int, dict[str, Any]]:
        """The stored site as a site-file document, with its revision (0: nothing loaded)."""
        doc: dict[str, Any] = {"staff": [], "households": []}
        revision, rest = await self.read_site_each(lambda kind, entity: doc[kind].append(entity))
        return revision, doc | rest

    async def read_site_each(
        self, take: Callable[[str, dict[str, Any]], None], *, chunk: int = 1000
    ) -> tuple[int, dict[str, Any]]:
        """The stored site streamed: ``take(kind, doc)`` for each staff member and household.

        Entities come in id order, ``chunk`` rows at a time, so that the caller can turn each
        into its model and drop the document: a whole site's documents never sit in memory at
        once. Returns the revision (0: nothing loaded) and the rest of the site document
        (timezone, policy, shifts, channels, community, hotline).
        """
        c = t.site_entities.c
        async with self.engine.connect() as conn:
            meta: dict[str, Any] = dict((await conn.execute(sa.select(t.site_meta))).all())
            found = await conn.stream(sa.select(c.kind, c.doc).order_by(c.id))
            async for rows in found.partitions(chunk):
                for kind, doc in rows:
                    take(kind, doc)
        rest = {key: meta[key] for key in _SITE_KEYS if meta.get(key) is not None}
        return int(meta.get("revision", 0)), rest

    async def read_site_part(
        self, kind: str, ids: Collection[str], *, chunk: int = 500
    ) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
        """The revision, the rest of the site document (as :meth:`read_site_each`) and the
        documents of only these entities of a kind: for work on a few households of a large site.
        """
        c = t.site_entities.c
        wanted = sorted(ids)
        docs: list[dict[str, Any]] = []
        async with self.engine.connect() as conn:
            meta: dict[str, Any] = dict((await conn.execute(sa.select(t.site_meta))).all())
            for i in range(0, len(wanted), chunk):
                q = sa.select(c.doc).where(c.kind == kind, c.id.in_(wanted[i : i + chunk]))
                docs += (await conn.execute(q.order_by(c.id))).scalars()
        rest = {key: meta[key] for key in _SITE_KEYS if meta.get(key) is not None}
        return int(meta.get("revision", 0)), rest, docs

    async def site_revision(self) -> int:
        """The stored site's revision, cheap enough to poll."""
        async with self.engine.connect() as conn:
            return int(await _meta(conn, "revision") or 0)
