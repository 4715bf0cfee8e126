"""The one place that speaks SQL: named operations, each one transaction.

SQLite (WAL) through aiosqlite by default; every statement is SQLAlchemy Core so that a
PostgreSQL URL works the same way. Times are stored as epoch seconds.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from gateway import rows
from gateway import schema as t
from gateway.clock import epoch, from_epoch
from gateway.records import (
    Alert,
    DeviceStatus,
    EventRecord,
    HistoryEntry,
    OutboxItem,
    RejectedRecord,
    UnknownSighting,
    Writes,
)

log = logging.getLogger("isogate.store")

REJECTED_KEEP = 10_000
UNKNOWN_KEEP = 1_000


def token_hash(token: str) -> str:
    """How API tokens are kept: never in clear."""
    return hashlib.sha256(token.encode()).hexdigest()


class Store:
    """Named operations on the gateway's database."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @classmethod
    @asynccontextmanager
    async def open(cls, url: str) -> AsyncIterator[Store]:
        """Connect, bring the schema up to date, and dispose of the engine on exit."""
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, **_engine_options(url))
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        try:
            async with engine.begin() as conn:
                was = await conn.run_sync(t.upgrade)
            if was != t.SCHEMA_VERSION:
                log.info("database schema %s → %s", was or "new", t.SCHEMA_VERSION)
            yield cls(engine)
        finally:
            await engine.dispose()

    @asynccontextmanager
    async def _tx(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.begin() as conn:
            yield conn

    async def ping(self) -> bool:
        """Whether the database answers."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception:  # any driver error means "down" for /healthz
            return False
        return True

    # --- the hot path -------------------------------------------------------------------------

    async def commit(self, w: Writes) -> list[OutboxItem]:
        """Write one pipeline step atomically; returns the outbox items with their ids."""
        async with self._tx() as conn:
            if w.events:
                await conn.execute(t.events.insert(), [rows.event_row(e) for e in w.events])
            if w.rejected:
                await conn.execute(t.rejected.insert(), [rows.rejected_row(r) for r in w.rejected])
            for sighting in w.unknown:
                await _upsert_unknown(conn, sighting)
            for status in w.devices.values():
                await _upsert_device(conn, status)
            for alert in w.alerts.values():
                row = rows.alert_row(alert)
                if alert.id in w.new_alert_ids:
                    await conn.execute(t.alerts.insert().values(**row))
                else:
                    await conn.execute(
                        t.alerts.update().where(t.alerts.c.id == alert.id).values(**row)
                    )
            if w.history:
                await conn.execute(
                    t.alert_history.insert(),
                    [
                        {
                            "alert_id": h.alert_id,
                            "at": epoch(h.at),
                            "action": h.action,
                            "by": h.by,
                            "note": h.note,
                        }
                        for h in w.history
                    ],
                )
            if w.cancel_outbox_for:
                await conn.execute(
                    t.outbox.update()
                    .where(
                        t.outbox.c.alert_id.in_(w.cancel_outbox_for),
                        t.outbox.c.state == "pending",
                        t.outbox.c.cancel_on_ack.is_(True),
                    )
                    .values(state="cancelled")
                )
            for key, value in w.meta.items():
                await _set_meta(conn, key, value)
            items: list[OutboxItem] = []
            if w.outbox:
                ids = await conn.execute(
                    t.outbox.insert().returning(t.outbox.c.id, sort_by_parameter_order=True),
                    [rows.outbox_row(o) for o in w.outbox],
                )
                items = [replace(o, id=i) for o, (i,) in zip(w.outbox, ids, strict=True)]
        return items

    # --- restoring the projection at start ----------------------------------------------------

    async def active_alerts(self) -> list[Alert]:
        """Every open or escalated alert."""
        q = sa.select(t.alerts).where(t.alerts.c.active_key.is_not(None))
        async with self.engine.connect() as conn:
            return [rows.alert_from(r) for r in (await conn.execute(q)).mappings()]

    async def device_statuses(self) -> list[DeviceStatus]:
        """The last known state of every bound device."""
        async with self.engine.connect() as conn:
            found = (await conn.execute(sa.select(t.device_state))).mappings()
            return [rows.device_from(r) for r in found]

    async def recent_seqs(self, limit: int = 200_000) -> list[tuple[str, int]]:
        """(device_key, seq) of the newest events that carried a sequence number."""
        q = (
            sa.select(t.events.c.device_key, t.events.c.seq)
            .where(t.events.c.seq.is_not(None))
            .order_by(t.events.c.id.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [(k, s) for k, s in await conn.execute(q)]

    async def meta(self, key: str) -> Any:
        """A value the gateway keeps across restarts (e.g. the time of the last tick)."""
        async with self.engine.connect() as conn:
            return await _meta(conn, key)

    async def events_since(self, kind: str, since: datetime) -> list[EventRecord]:
        """Events of one kind since a time, oldest first (to replay into the rules)."""
        q = (
            sa.select(t.events)
            .where(t.events.c.kind == kind, t.events.c.ts >= epoch(since))
            .order_by(t.events.c.ts)
        )
        async with self.engine.connect() as conn:
            return [rows.event_from(r) for r in (await conn.execute(q)).mappings()]

    async def has_digest(self, digest: str, since: datetime) -> bool:
        """Whether an event with this topic+payload digest was stored since ``since``."""
        q = (
            sa.select(t.events.c.id)
            .where(t.events.c.digest == digest, t.events.c.received_at >= epoch(since))
            .limit(1)
        )
        async with self.engine.connect() as conn:
            return (await conn.execute(q)).first() is not None

    # --- alerts -------------------------------------------------------------------------------

    async def list_alerts(
        self,
        *,
        status: str | None = None,
        households: Iterable[str] | None = None,
        type: str | None = None,
        limit: int = 200,
    ) -> list[Alert]:
        """Alerts, newest first, filtered."""
        q = sa.select(t.alerts).order_by(t.alerts.c.raised_at.desc()).limit(limit)
        if status in ("open", "active"):
            # Escalated is still open: nobody acknowledged it yet.
            q = q.where(t.alerts.c.active_key.is_not(None))
        elif status:
            q = q.where(t.alerts.c.status == status)
        if households is not None:
            q = q.where(t.alerts.c.household_id.in_(list(households)))
        if type:
            q = q.where(t.alerts.c.type == type)
        async with self.engine.connect() as conn:
            return [rows.alert_from(r) for r in (await conn.execute(q)).mappings()]

    async def get_alert(self, alert_id: str) -> Alert | None:
        """One alert by id."""
        q = sa.select(t.alerts).where(t.alerts.c.id == alert_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(q)).mappings().first()
        return rows.alert_from(row) if row else None

    async def alert_history(self, alert_id: str) -> list[HistoryEntry]:
        """The append-only history of one alert, oldest first."""
        q = (
            sa.select(t.alert_history)
            .where(t.alert_history.c.alert_id == alert_id)
            .order_by(t.alert_history.c.id)
        )
        async with self.engine.connect() as conn:
            return [
                HistoryEntry(r["alert_id"], from_epoch(r["at"]), r["action"], r["by"], r["note"])
                for r in (await conn.execute(q)).mappings()
            ]

    async def alert_deliveries(self, alert_id: str) -> list[dict[str, Any]]:
        """Delivery state per recipient and channel of one alert."""
        q = (
            sa.select(
                t.outbox.c.channel,
                t.outbox.c.recipient,
                t.outbox.c.target,
                t.outbox.c.state,
                t.outbox.c.attempts,
                t.outbox.c.delivered_at,
                t.outbox.c.last_error,
            )
            .where(t.outbox.c.alert_id == alert_id)
            .order_by(t.outbox.c.id)
        )
        async with self.engine.connect() as conn:
            return [
                {**r, "delivered_at": rows.to_time(r["delivered_at"])}
                for r in (await conn.execute(q)).mappings()
            ]

    # --- outbox -------------------------------------------------------------------------------

    async def due_outbox(self, now: datetime, limit: int = 500) -> list[OutboxItem]:
        """Pending notifications whose time has come, oldest first."""
        q = (
            sa.select(t.outbox)
            .where(t.outbox.c.state == "pending", t.outbox.c.next_attempt_at <= epoch(now))
            .order_by(t.outbox.c.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [rows.outbox_from(r) for r in (await conn.execute(q)).mappings()]

    async def outbox_done(self, ids: Iterable[int], at: datetime, state: str = "delivered") -> None:
        """Mark notifications delivered (or cancelled)."""
        ids = list(ids)
        if not ids:
            return
        async with self._tx() as conn:
            await conn.execute(
                t.outbox.update()
                .where(t.outbox.c.id.in_(ids), t.outbox.c.state == "pending")
                .values(state=state, delivered_at=epoch(at))
            )

    async def outbox_retry(
        self, item_id: int, *, error: str, next_at: datetime | None, attempts: int
    ) -> None:
        """Record a failed attempt; ``next_at`` None gives up on the item."""
        values: dict[str, Any] = {"attempts": attempts, "last_error": error[:500]}
        if next_at is None:
            values["state"] = "failed"
        else:
            values["next_attempt_at"] = epoch(next_at)
        async with self._tx() as conn:
            await conn.execute(t.outbox.update().where(t.outbox.c.id == item_id).values(**values))

    # --- technicians' lists -------------------------------------------------------------------

    async def list_rejected(self, limit: int = 200) -> list[RejectedRecord]:
        """Rejected input, newest first."""
        q = sa.select(t.rejected).order_by(t.rejected.c.id.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [
                RejectedRecord(
                    from_epoch(r["received_at"]),
                    r["source"],
                    r["topic"],
                    r["reason"],
                    r["payload"],
                    r["device_key"],
                )
                for r in (await conn.execute(q)).mappings()
            ]

    async def list_unknown(self, limit: int = 200) -> list[dict[str, Any]]:
        """Unbound device addresses, most recently heard first."""
        q = sa.select(t.unknown_devices).order_by(t.unknown_devices.c.last_seen.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [
                {
                    **r,
                    "first_seen": from_epoch(r["first_seen"]),
                    "last_seen": from_epoch(r["last_seen"]),
                }
                for r in (await conn.execute(q)).mappings()
            ]

    async def prune(self) -> None:
        """Keep the technicians' lists bounded."""
        async with self._tx() as conn:
            cut = (
                await conn.execute(
                    sa.select(t.rejected.c.id)
                    .order_by(t.rejected.c.id.desc())
                    .offset(REJECTED_KEEP)
                )
            ).first()
            if cut:
                await conn.execute(t.rejected.delete().where(t.rejected.c.id <= cut[0]))
            old = (
                await conn.execute(
                    sa.select(t.unknown_devices.c.last_seen)
                    .order_by(t.unknown_devices.c.last_seen.desc())
                    .offset(UNKNOWN_KEEP)
                )
            ).first()
            if old:
                await conn.execute(
                    t.unknown_devices.delete().where(t.unknown_devices.c.last_seen <= old[0])
                )

    # --- events for people --------------------------------------------------------------------

    async def household_events(
        self, household_id: str, *, kind: str | None = None, limit: int = 200
    ) -> list[EventRecord]:
        """A household's events, newest first."""
        q = (
            sa.select(t.events)
            .where(t.events.c.household_id == household_id)
            .order_by(t.events.c.id.desc())
            .limit(limit)
        )
        if kind:
            q = q.where(t.events.c.kind == kind)
        async with self.engine.connect() as conn:
            return [rows.event_from(r) for r in (await conn.execute(q)).mappings()]

    async def event_counts(self, since: datetime, until: datetime) -> list[tuple[str, str, int]]:
        """(household, kind, count) of the events in ``[since, until)``."""
        c = t.events.c
        q = (
            sa.select(c.household_id, c.kind, sa.func.count())
            .where(c.ts >= epoch(since), c.ts < epoch(until), c.household_id.is_not(None))
            .group_by(c.household_id, c.kind)
            .order_by(c.household_id, c.kind)
        )
        async with self.engine.connect() as conn:
            return [(h, k, n) for h, k, n in await conn.execute(q)]

    async def receipt_span(self) -> tuple[datetime, datetime, int]:
        """First and last receipt time in the event log, and how many events it holds."""
        c = t.events.c
        q = sa.select(sa.func.min(c.received_at), sa.func.max(c.received_at), sa.func.count())
        async with self.engine.connect() as conn:
            first, last, n = (await conn.execute(q)).one()
        return from_epoch(first or 0.0), from_epoch(last or 0.0), int(n)

    async def count_events(self) -> int:
        """How many events the log holds."""
        async with self.engine.connect() as conn:
            return (
                await conn.execute(sa.select(sa.func.count()).select_from(t.events))
            ).scalar_one()

    # --- site ---------------------------------------------------------------------------------

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
        for key in ("timezone", "policy", "shifts", "channels"):
            if key in meta:
                doc[key] = meta[key]
        return int(meta.get("revision", 0)), doc

    async def site_revision(self) -> int:
        """The stored site's revision, cheap enough to poll."""
        async with self.engine.connect() as conn:
            return int(await _meta(conn, "revision") or 0)

    # --- users --------------------------------------------------------------------------------

    async def add_user(self, name: str, role: str, token: str, at: datetime) -> None:
        """Add an API/console user; only the token's hash is kept."""
        async with self._tx() as conn:
            await conn.execute(
                t.users.insert().values(
                    name=name, role=role, token_hash=token_hash(token), created_at=epoch(at)
                )
            )

    async def user_by_token(self, token: str) -> tuple[str, str] | None:
        """(name, role) of the user holding a token."""
        q = sa.select(t.users.c.name, t.users.c.role).where(
            t.users.c.token_hash == token_hash(token)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(q)).first()
        return (row[0], row[1]) if row else None


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # pysqlite opens a transaction only for writes, and every write here commits: the
        # ROLLBACK the pool would issue on each check-in is a wasted round trip to the
        # database thread (one per transaction, on the hot path).
        return {"pool_reset_on_return": None}
    return {}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a killed process (only a power cut can lose the last commit).
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


async def _meta(conn: AsyncConnection, key: str) -> Any:
    q = sa.select(t.site_meta.c.value).where(t.site_meta.c.key == key)
    return (await conn.execute(q)).scalar()


async def _set_meta(conn: AsyncConnection, key: str, value: Any) -> None:
    done = await conn.execute(
        t.site_meta.update().where(t.site_meta.c.key == key).values(value=value)
    )
    if done.rowcount == 0:
        await conn.execute(t.site_meta.insert().values(key=key, value=value))


async def _upsert_unknown(conn: AsyncConnection, s: UnknownSighting) -> None:
    c = t.unknown_devices.c
    done = await conn.execute(
        t.unknown_devices.update()
        .where(c.device_key == s.device_key)
        .values(last_seen=epoch(s.at), count=c.count + 1, last_payload=s.payload, topic=s.topic)
    )
    if done.rowcount == 0:
        await conn.execute(
            t.unknown_devices.insert().values(
                device_key=s.device_key,
                protocol=s.protocol,
                address=s.address,
                topic=s.topic,
                first_seen=epoch(s.at),
                last_seen=epoch(s.at),
                count=1,
                last_payload=s.payload,
            )
        )


async def _upsert_device(conn: AsyncConnection, d: DeviceStatus) -> None:
    row = {
        "household_id": d.household_id,
        "last_seen": rows.to_epoch(d.last_seen),
        "online": d.online,
        "status_at": rows.to_epoch(d.status_at),
        "battery": d.battery,
        "door_open": d.door_open,
        "door_changed_at": rows.to_epoch(d.door_changed_at),
        "last_celsius": d.last_celsius,
        "last_reading_at": rows.to_epoch(d.last_reading_at),
    }
    done = await conn.execute(
        t.device_state.update().where(t.device_state.c.device_id == d.device_id).values(**row)
    )
    if done.rowcount == 0:
        await conn.execute(t.device_state.insert().values(device_id=d.device_id, **row))
