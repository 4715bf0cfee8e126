"""The retention purge in the store: a released household's personal data removed in one
transaction, what was removed counted in its release, then the database file compacted so
that the removed rows are gone from disk too.

What goes, for one household and what happened before ``before`` (all of it when None):
its events (readings, door events) and the devices' last reading, rejected messages of its
devices, symptom checks, windows (pre-reports, visits), notice receipts, service request notes,
and the notices its alerts sent (their bodies carry the address and names). What stays, with
the personal parts rewritten: its alerts (type, times, who acted, outcome; the message becomes a
neutral text, notes become ``已清除``), their history (notes rewritten; plan steps kept), the
sign-offs (notes rewritten), daily reports (its address rewritten). The audit log is
append-only and not touched: it holds ids, symptom keys and what staff wrote with a sign-off,
no name the gateway put there. The site's household document is replaced by the caller's
scrubbed one, so ids still resolve.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.clock import epoch
from gateway.store import care_tables as c
from gateway.store import schema as t
from gateway.store._base import StoreBase, _meta, _set_meta
from gateway.store.audit import audit_rows
from gateway.store.care import release_from
from gateway.store.care_records import Release
from gateway.store.records import AuditEntry
from gateway.store.reports import REPORT_PREFIX

log = logging.getLogger("isogate.purge")

REDACTED = "已清除"
"""What a purged name, address or note reads."""

# Tables a purge changes: VACUUMed on PostgreSQL (SQLite rebuilds the whole file).
_TOUCHED = (
    "events",
    "device_state",
    "rejected",
    "alerts",
    "alert_history",
    "outbox",
    "symptom_checks",
    "care_windows",
    "notice_receipts",
    "service_requests",
    "signoffs",
    "daily_reports",
    "releases",
    "site_entities",
)


@dataclass(frozen=True, slots=True)
class PurgeScope:
    """What one household's purge covers.

    Attributes:
        household_id: The household.
        period_start: The released isolation period's start (its release is marked purged).
        before: Only what happened before this (a new isolation period of the same household
            began then and is not touched); None: everything of the household.
        device_keys: Its devices as the intake names them (``zigbee2mqtt:h1_door``).
        site_doc: The household's scrubbed site document to store, or None to leave the site.
    """

    household_id: str
    period_start: datetime
    before: datetime | None
    device_keys: tuple[str, ...] = ()
    site_doc: dict[str, Any] | None = None


def scrub_report(body: Any, household_id: str) -> bool:
    """Rewrite the address of a household's rows in a report body (any JSON); whether any."""
    changed = False
    if isinstance(body, dict):
        if body.get("household") == household_id and body.get("address") not in (None, REDACTED):
            body["address"] = REDACTED
            changed = True
        for value in body.values():
            changed |= scrub_report(value, household_id)
    elif isinstance(body, list):
        for value in body:
            changed |= scrub_report(value, household_id)
    return changed


class PurgeOps(StoreBase):
    """Operations of the retention purge."""

    async def releases_to_purge(self, released_before: datetime) -> list[Release]:
        """Releases before a time whose personal data was not purged yet, oldest first."""
        r = c.releases.c
        q = (
            sa.select(c.releases)
            .where(r.released_at < epoch(released_before), r.purged_at.is_(None))
            .order_by(r.released_at)
        )
        async with self.engine.connect() as conn:
            return [release_from(x) for x in (await conn.execute(q)).mappings()]

    async def purge_alert_ids(self, scope: PurgeScope) -> list[str]:
        """The ids of the alerts a purge covers (their evidence files go too)."""
        async with self.engine.connect() as conn:
            return [i for (i,) in await conn.execute(_alert_ids(scope))]

    async def purge_counts(self, scope: PurgeScope) -> dict[str, int]:
        """What a purge would remove or rewrite, counted (nothing changes)."""
        async with self.engine.connect() as conn:
            return await _counts(conn, scope)

    async def purge_household(
        self,
        scope: PurgeScope,
        at: datetime,
        *,
        files: int,
        messages: Mapping[str, str],
        audit: AuditEntry,
    ) -> dict[str, int]:
        """Remove one household's personal data in one transaction, mark its release purged
        with the counts (``files``: those the caller removed), write the audit entry.

        ``messages`` is the neutral text of each alert type's messages (others: ``已清除``).

        Returns:
            The counts recorded in the release.
        """
        hh, before = scope.household_id, scope.before
        async with self._tx() as conn:
            if conn.dialect.name == "sqlite":
                # Deleted content is overwritten, not just unlinked (VACUUM follows anyway).
                await conn.execute(sa.text("PRAGMA secure_delete=ON"))
            counts = await _counts(conn, scope) | {"files": files}
            alerts = _alert_ids(scope)
            e, a, h = t.events.c, t.alerts.c, t.alert_history.c
            await conn.execute(t.events.delete().where(e.household_id == hh, *_upto(e.ts, before)))
            if before is None:
                await conn.execute(
                    t.device_state.update()
                    .where(t.device_state.c.household_id == hh)
                    .values(last_celsius=None, last_reading_at=None)
                )
            if scope.device_keys:
                rj = t.rejected.c
                await conn.execute(
                    t.rejected.delete().where(
                        rj.device_key.in_(scope.device_keys), *_upto(rj.received_at, before)
                    )
                )
            await conn.execute(t.outbox.delete().where(t.outbox.c.alert_id.in_(alerts)))
            await conn.execute(
                t.alert_history.update()
                .where(h.alert_id.in_(alerts), h.note.is_not(None), h.action != "step")
                .values(note=REDACTED)
            )
            await conn.execute(
                t.alerts.update()
                .where(a.id.in_(alerts))
                .values(
                    message=sa.case(dict(messages), value=a.type, else_=REDACTED),
                    note=sa.case((a.note.is_(None), None), else_=REDACTED),
                    snapshot=None,
                )
            )
            await _care(conn, scope)
            await _scrub_reports(conn, hh)
            await conn.execute(
                c.releases.update()
                .where(
                    c.releases.c.household_id == hh,
                    c.releases.c.period_start == epoch(scope.period_start),
                )
                .values(purged_at=epoch(at), counts=counts)
            )
            if scope.site_doc is not None:
                await _store_household(conn, hh, scope.site_doc, at)
            await conn.execute(t.audit.insert(), audit_rows([audit]))
        return counts

    async def compact(self) -> None:
        """Make removed rows unrecoverable from the files: SQLite checkpoints its write-ahead
        log, rebuilds the database (VACUUM) and empties the log; PostgreSQL VACUUMs the
        tables a purge changes (their dead rows' space is reused, not rewritten at once)."""
        async with self.engine.connect() as conn:
            auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
            if auto.dialect.name == "sqlite":
                await _checkpoint(auto)
                await auto.execute(sa.text("VACUUM"))
                await _checkpoint(auto)
            else:
                for table in _TOUCHED:
                    await auto.execute(sa.text(f"VACUUM {table}"))


async def _checkpoint(conn: AsyncConnection) -> None:
    busy, frames, done = (await conn.execute(sa.text("PRAGMA wal_checkpoint(TRUNCATE)"))).one()
    if busy:
        log.warning(
            "write-ahead log not emptied (%s of %s frames copied): a reader held it", done, frames
        )


def _upto(column: Any, before: datetime | None) -> tuple[Any, ...]:
    """The condition "before ``before``" on a time column (none when everything goes)."""
    return () if before is None else (column < epoch(before),)


def _alert_ids(scope: PurgeScope) -> sa.Select[Any]:
    a = t.alerts.c
    return sa.select(a.id).where(
        a.household_id == scope.household_id, *_upto(a.raised_at, scope.before)
    )


async def _counts(conn: AsyncConnection, scope: PurgeScope) -> dict[str, int]:
    hh, before = scope.household_id, scope.before

    async def count(table: sa.Table, *where: Any) -> int:
        q = sa.select(sa.func.count()).select_from(table).where(*where)
        return int((await conn.execute(q)).scalar_one())

    e, a = t.events.c, t.alerts.c
    s, w, n = c.symptom_checks.c, c.care_windows.c, c.notice_receipts.c
    sr = c.service_requests.c
    return {
        "events": await count(t.events, e.household_id == hh, *_upto(e.ts, before)),
        "readings": await count(
            t.events, e.household_id == hh, e.kind == "temperature", *_upto(e.ts, before)
        ),
        "alerts": await count(t.alerts, a.household_id == hh, *_upto(a.raised_at, before)),
        "symptom_checks": await count(c.symptom_checks, s.household_id == hh, *_upto(s.at, before)),
        "windows": await count(c.care_windows, w.household_id == hh, *_upto(w.starts_at, before)),
        "services": await count(
            c.service_requests, sr.household_id == hh, *_upto(sr.requested_at, before)
        ),
        "notice_receipts": await count(
            c.notice_receipts, n.household_id == hh, *_upto(n.at, before)
        ),
    }


async def _care(conn: AsyncConnection, scope: PurgeScope) -> None:
    """The paperwork: checks, windows and receipts go; request notes and sign-off notes are
    rewritten (the requests and sign-offs themselves are the record)."""
    hh, before = scope.household_id, scope.before
    s, w, n = c.symptom_checks.c, c.care_windows.c, c.notice_receipts.c
    sr, so = c.service_requests.c, c.signoffs.c
    await conn.execute(c.symptom_checks.delete().where(s.household_id == hh, *_upto(s.at, before)))
    await conn.execute(
        c.care_windows.delete().where(w.household_id == hh, *_upto(w.starts_at, before))
    )
    await conn.execute(c.notice_receipts.delete().where(n.household_id == hh, *_upto(n.at, before)))
    await conn.execute(
        c.service_requests.update()
        .where(sr.household_id == hh, sr.note.is_not(None), *_upto(sr.requested_at, before))
        .values(note=None)
    )
    await conn.execute(
        c.signoffs.update()
        .where(
            so.household_id == hh,
            so.period_start == epoch(scope.period_start),
            so.note.is_not(None),
        )
        .values(note=REDACTED)
    )


async def _scrub_reports(conn: AsyncConnection, household_id: str) -> None:
    """The household's address out of the daily reports kept and the notices that pushed them."""
    d = c.daily_reports.c
    for day, body in (await conn.execute(sa.select(d.day, d.body))).all():
        if scrub_report(body, household_id):
            await conn.execute(c.daily_reports.update().where(d.day == day).values(body=body))
    o = t.outbox.c
    daily = sa.select(o.id, o.body).where(o.alert_id.like(f"{REPORT_PREFIX}%"))
    for item_id, text in (await conn.execute(daily)).all():
        try:
            doc = json.loads(text)
        except ValueError:
            continue
        if scrub_report(doc, household_id):
            body = json.dumps(doc, ensure_ascii=False)
            await conn.execute(t.outbox.update().where(o.id == item_id).values(body=body))


async def _store_household(
    conn: AsyncConnection, household_id: str, doc: dict[str, Any], at: datetime
) -> None:
    """Replace the household's site document and bump the site's revision, so that a running
    gateway takes the scrubbed household up."""
    se = t.site_entities.c
    await conn.execute(
        t.site_entities.update()
        .where(se.kind == "households", se.id == household_id)
        .values(doc=doc, updated_at=epoch(at))
    )
    revision = int(await _meta(conn, "revision") or 0) + 1
    await _set_meta(conn, "revision", revision)
