"""The isolation's paperwork in the store: windows, symptom checks, services, notice receipts,
sign-offs, releases and the resident's link. Written with the pipeline step that decided them
(``write_care``); read by the gateway at start and by the API."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.clock import epoch, from_epoch
from gateway.store import care_tables as c
from gateway.store._base import StoreBase
from gateway.store.care_records import (
    CareWindow,
    NoticeReceipt,
    Release,
    ServiceRequest,
    Signoff,
    SymptomCheck,
)
from gateway.store.records import Writes
from gateway.store.rows import to_epoch, to_time


async def write_care(conn: AsyncConnection, w: Writes) -> None:
    """Write the paperwork of one step (inside the step's transaction)."""
    care = w.care
    if care.windows:
        await conn.execute(c.care_windows.insert(), [_window_row(x) for x in care.windows])
    if care.symptom_checks:
        await conn.execute(c.symptom_checks.insert(), [_check_row(x) for x in care.symptom_checks])
    for s in care.services:
        row = _service_row(s)
        done = await conn.execute(
            c.service_requests.update().where(c.service_requests.c.id == s.id).values(**row)
        )
        if done.rowcount == 0:
            await conn.execute(c.service_requests.insert().values(**row))
    if care.receipts:
        await conn.execute(
            c.notice_receipts.insert(),
            [
                {"household_id": r.household_id, "at": epoch(r.at), "by": r.by, "via": r.via}
                for r in care.receipts
            ],
        )
    if care.signoffs:
        await conn.execute(c.signoffs.insert(), [_signoff_row(s) for s in care.signoffs])
    for rel in care.releases:
        await conn.execute(c.releases.insert().values(**release_row(rel)))
    for hh, (generation, secret_hash, at) in care.links.items():
        values = {"generation": generation, "secret_hash": secret_hash, "rotated_at": epoch(at)}
        done = await conn.execute(
            c.resident_links.update().where(c.resident_links.c.household_id == hh).values(**values)
        )
        if done.rowcount == 0:
            await conn.execute(c.resident_links.insert().values(household_id=hh, **values))


class CareOps(StoreBase):
    """Reads of the paperwork."""

    async def care_windows(
        self, *, ending_after: datetime, households: Iterable[str] | None = None
    ) -> list[CareWindow]:
        """Windows that end after a time (oldest first), of some households or all."""
        q = sa.select(c.care_windows).where(c.care_windows.c.ends_at > epoch(ending_after))
        if households is not None:
            q = q.where(c.care_windows.c.household_id.in_(list(households)))
        q = q.order_by(c.care_windows.c.starts_at)
        async with self.engine.connect() as conn:
            return [_window(r) for r in (await conn.execute(q)).mappings()]

    async def household_windows(self, household_id: str) -> list[CareWindow]:
        """Every window of one household, oldest first."""
        q = (
            sa.select(c.care_windows)
            .where(c.care_windows.c.household_id == household_id)
            .order_by(c.care_windows.c.starts_at)
        )
        async with self.engine.connect() as conn:
            return [_window(r) for r in (await conn.execute(q)).mappings()]

    async def symptom_checks(
        self, *, since: datetime, households: Iterable[str] | None = None
    ) -> list[SymptomCheck]:
        """Checks (and missed-check marks) at or after a time, oldest first."""
        q = sa.select(c.symptom_checks).where(c.symptom_checks.c.at >= epoch(since))
        if households is not None:
            q = q.where(c.symptom_checks.c.household_id.in_(list(households)))
        q = q.order_by(c.symptom_checks.c.at, c.symptom_checks.c.id)
        async with self.engine.connect() as conn:
            return [_check(r) for r in (await conn.execute(q)).mappings()]

    async def service_requests(
        self, *, households: Iterable[str] | None = None, open_only: bool = False, limit: int = 500
    ) -> list[ServiceRequest]:
        """Service requests, newest first."""
        q = sa.select(c.service_requests)
        if households is not None:
            q = q.where(c.service_requests.c.household_id.in_(list(households)))
        if open_only:
            q = q.where(c.service_requests.c.done_at.is_(None))
        q = q.order_by(c.service_requests.c.requested_at.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [_service(r) for r in (await conn.execute(q)).mappings()]

    async def service_request(self, request_id: str) -> ServiceRequest | None:
        """One service request by id."""
        q = sa.select(c.service_requests).where(c.service_requests.c.id == request_id)
        async with self.engine.connect() as conn:
            r = (await conn.execute(q)).mappings().first()
        return _service(r) if r is not None else None

    async def notice_receipts(self, household_id: str) -> list[NoticeReceipt]:
        """When the notice was handed over to a household, oldest first."""
        q = (
            sa.select(c.notice_receipts)
            .where(c.notice_receipts.c.household_id == household_id)
            .order_by(c.notice_receipts.c.at)
        )
        async with self.engine.connect() as conn:
            return [
                NoticeReceipt(r["household_id"], from_epoch(r["at"]), r["by"], r["via"])
                for r in (await conn.execute(q)).mappings()
            ]

    async def signoffs(self, household_id: str, period_start: datetime) -> list[Signoff]:
        """The sign-offs of one isolation period, in the order given."""
        q = (
            sa.select(c.signoffs)
            .where(
                c.signoffs.c.household_id == household_id,
                c.signoffs.c.period_start == epoch(period_start),
            )
            .order_by(c.signoffs.c.at, c.signoffs.c.id)
        )
        async with self.engine.connect() as conn:
            return [
                Signoff(
                    r["household_id"],
                    from_epoch(r["period_start"]),
                    r["role"],
                    r["by"],
                    from_epoch(r["at"]),
                    r["note"],
                )
                for r in (await conn.execute(q)).mappings()
            ]

    async def releases(self, households: Iterable[str] | None = None) -> list[Release]:
        """Released households, newest release first."""
        q = sa.select(c.releases).order_by(c.releases.c.released_at.desc())
        if households is not None:
            q = q.where(c.releases.c.household_id.in_(list(households)))
        async with self.engine.connect() as conn:
            return [release_from(r) for r in (await conn.execute(q)).mappings()]

    async def set_report(
        self, household_id: str, period_start: datetime, pdf_sha: str, html_sha: str, path: str
    ) -> bool:
        """Record the archived release report once; False when one is recorded already."""
        async with self._tx() as conn:
            done = await conn.execute(
                c.releases.update()
                .where(
                    c.releases.c.household_id == household_id,
                    c.releases.c.period_start == epoch(period_start),
                    c.releases.c.report_sha256.is_(None),
                )
                .values(report_sha256=pdf_sha, report_html_sha256=html_sha, report_path=path)
            )
        return bool(done.rowcount)

    async def link_generations(self) -> dict[str, tuple[int, str]]:
        """household → (generation, secret hash) of every resident link made."""
        q = sa.select(
            c.resident_links.c.household_id,
            c.resident_links.c.generation,
            c.resident_links.c.secret_hash,
        )
        async with self.engine.connect() as conn:
            return {r[0]: (r[1], r[2]) for r in (await conn.execute(q)).all()}


def _window_row(x: CareWindow) -> dict[str, Any]:
    return {
        "id": x.id,
        "household_id": x.household_id,
        "kind": x.kind,
        "reason": x.reason,
        "starts_at": epoch(x.start),
        "ends_at": epoch(x.end),
        "escort": x.escort,
        "by": x.by,
        "via": x.via,
        "created_at": epoch(x.created_at),
    }


def _window(r: Any) -> CareWindow:
    return CareWindow(
        id=r["id"],
        household_id=r["household_id"],
        kind=r["kind"],
        reason=r["reason"],
        start=from_epoch(r["starts_at"]),
        end=from_epoch(r["ends_at"]),
        by=r["by"],
        via=r["via"],
        created_at=from_epoch(r["created_at"]),
        escort=r["escort"],
    )


def _check_row(x: SymptomCheck) -> dict[str, Any]:
    return {
        "household_id": x.household_id,
        "resident_id": x.resident_id,
        "at": epoch(x.at),
        "window_start": to_epoch(x.window_start),
        "symptoms": list(x.symptoms) if x.symptoms is not None else None,
        "by": x.by,
        "via": x.via,
        "alert_id": x.alert_id,
    }


def _check(r: Any) -> SymptomCheck:
    return SymptomCheck(
        household_id=r["household_id"],
        resident_id=r["resident_id"],
        at=from_epoch(r["at"]),
        symptoms=tuple(r["symptoms"]) if r["symptoms"] is not None else None,
        by=r["by"],
        via=r["via"],
        window_start=to_time(r["window_start"]),
        alert_id=r["alert_id"],
    )


def _service_row(s: ServiceRequest) -> dict[str, Any]:
    return {
        "id": s.id,
        "household_id": s.household_id,
        "kind": s.kind,
        "note": s.note,
        "requested_at": epoch(s.requested_at),
        "via": s.via,
        "done_by": s.done_by,
        "done_at": to_epoch(s.done_at),
    }


def _service(r: Any) -> ServiceRequest:
    return ServiceRequest(
        id=r["id"],
        household_id=r["household_id"],
        kind=r["kind"],
        requested_at=from_epoch(r["requested_at"]),
        via=r["via"],
        note=r["note"],
        done_by=r["done_by"],
        done_at=to_time(r["done_at"]),
    )


def _signoff_row(s: Signoff) -> dict[str, Any]:
    return {
        "household_id": s.household_id,
        "period_start": epoch(s.period_start),
        "role": s.role,
        "by": s.by,
        "at": epoch(s.at),
        "note": s.note,
    }


def release_row(r: Release) -> dict[str, Any]:
    """A releases row."""
    return {
        "household_id": r.household_id,
        "period_start": epoch(r.period_start),
        "period_end": epoch(r.period_end),
        "released_at": epoch(r.released_at),
        "seal_removed_by": r.seal_removed_by,
        "report_sha256": r.report_sha256,
        "report_html_sha256": r.report_html_sha256,
        "report_path": r.report_path,
        "purged_at": to_epoch(r.purged_at),
        "counts": r.counts,
    }


def release_from(r: Any) -> Release:
    """A release from its row."""
    return Release(
        household_id=r["household_id"],
        period_start=from_epoch(r["period_start"]),
        period_end=from_epoch(r["period_end"]),
        released_at=from_epoch(r["released_at"]),
        seal_removed_by=r["seal_removed_by"],
        report_sha256=r["report_sha256"],
        report_html_sha256=r["report_html_sha256"],
        report_path=r["report_path"],
        purged_at=to_time(r["purged_at"]),
        counts=r["counts"],
    )
