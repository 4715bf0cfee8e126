"""The stored site: entities by (kind, id), meta keys, the revision."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from gateway.clock import epoch
from gateway.store import schema as t
from gateway.store._base import StoreBase, _meta, _set_meta


class SiteOps(StoreBase):
    """Operations on the stored site."""

    async def save_site(
        self, *, entities: dict[str, dict[str, dict[str, Any]]], meta: dict[str, Any], at: datetime
    ) -> int:
        """Upsert site entities by (kind, id) and meta keys; bumps and returns the revision."""
        async with self._tx() as conn:
            for kind, by_id in entities.items():
                for entity_id, doc in by_id.items():
                    done = await conn.execute(
                        t.site_entities.update()
                        .where(t.site_entities.c.kind == kind, t.site_entities.c.id == entity_id)
                        .values(doc=doc, updated_at=epoch(at))
                    )
                    if done.rowcount == 0:
                        await conn.execute(
                            t.site_entities.insert().values(
                                kind=kind, id=entity_id, doc=doc, updated_at=epoch(at)
                            )
                        )
            revision = (await _meta(conn, "revision") or 0) + 1
            for key, value in {**meta, "revision": revision}.items():
                await _set_meta(conn, key, value)
        return int(revision)

    async def read_site(self) -> tuple[int, dict[str, Any]]:
        """The stored site as a site-file document, with its revision (0: nothing loaded)."""
        async with self.engine.connect() as conn:
            meta: dict[str, Any] = dict((await conn.execute(sa.select(t.site_meta))).all())
            found = (
                await conn.execute(sa.select(t.site_entities).order_by(t.site_entities.c.id))
            ).mappings()
            doc: dict[str, Any] = {"staff": [], "households": []}
            for r in found:
                doc[r["kind"]].append(r["doc"])
        for key in ("timezone", "policy", "shifts", "channels", "community", "hotline"):
            if meta.get(key) is not None:
                doc[key] = meta[key]
        return int(meta.get("revision", 0)), doc

    async def site_revision(self) -> int:
        """The stored site's revision, cheap enough to poll."""
        async with self.engine.connect() as conn:
            return int(await _meta(conn, "revision") or 0)
