"""What residents and staff do about a household's isolation, each decided by the rules and
committed before it is answered: an announced opening, a symptom check, a service request and
its completion, a visit, a notice receipt, a sign-off towards release.

Every operation runs under the alert desk's lock, as a pipeline step does: it stages the watch's
new state and the alert desk's changes, commits them with the paperwork and the audit entry in
one transaction, and only then installs them. A door event decided after a pre-report answered
sees its window; one decided before does not, and the page has not said "yes" yet.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from gateway.care.base import audit, secret_hash
from gateway.care.links import ResidentLinks
from gateway.care.release import Releases
from gateway.ids import ulid
from gateway.store.care_records import (
    CareWindow,
    NoticeReceipt,
    ServiceRequest,
    SymptomCheck,
)
from gateway.store.records import Alert, Writes
from rules import care
from rules.care import CareRefusedError, Opening
from rules.directory import Directory
from rules.readings import window_at

log = logging.getLogger("isogate.care")

__all__ = ["CareDesk", "secret_hash"]

OPEN_SERVICES_MAX = 10
"""Open service requests a household may have at once (the page asks for more: 429)."""
VISIT_MAX = timedelta(hours=4)
"""The longest visit window staff may enter."""


class CareDesk(ResidentLinks, Releases):
    """The isolation's operations, for the API (the resident's page and the console)."""

    # --- the resident's page ----------------------------------------------------------------

    async def prereport(self, household_id: str, reason: str) -> CareWindow:
        """A resident announces an opening: a short authorized window opens now."""
        hh = self._household(household_id)

        def change(now: datetime, w: Writes) -> CareWindow:
            watch = self.pipeline.watch
            opening = care.prereport(watch.care.get(hh.id), hh, reason, self.directory, now)
            watch.add_window(hh.id, opening, now)
            window = _window(ulid(now), hh.id, opening, "resident", "page", now)
            w.care.windows.append(window)
            w.audit.append(
                audit(now, "resident", "resident", "prereport", "page", window.id, hh.id, reason)
            )
            return window

        window = await self._step(change)
        self._tell(hh.id, "prereport", _window_json(window), window.created_at)
        return window

    async def symptoms(
        self,
        household_id: str,
        resident_id: str,
        symptoms: list[str],
        by: str,
        role: str,
        via: str,
    ) -> tuple[SymptomCheck, Alert | None]:
        """A symptom check (``[]``: none); any symptom raises ``symptom`` to doctor and watcher."""
        hh = self._household(household_id)
        unknown = [s for s in symptoms if s not in care.SYMPTOMS]
        if unknown:
            raise CareRefusedError(f"unknown symptoms: {', '.join(unknown)}", 422)
        if resident_id not in {r.id for r in hh.residents}:
            raise CareRefusedError(f"no resident {resident_id} in household {hh.id}", 404)
        said = tuple(dict.fromkeys(symptoms))

        def change(now: datetime, w: Writes) -> tuple[SymptomCheck, Alert | None]:
            watch = self.pipeline.watch
            care.under_isolation(hh, watch.care.get(hh.id), now)
            alert = None
            for decision in watch.on_symptoms(hh.id, resident_id, said, now, now):
                alert = self.pipeline.desk.apply(decision, now, w) or alert
            window = _window_start(self.directory, now)
            check = SymptomCheck(
                hh.id, resident_id, now, said, by, via, window, alert.id if alert else None
            )
            w.care.symptom_checks.append(check)
            w.audit.append(audit(now, by, role, "symptoms", via, resident_id, hh.id, _said(said)))
            return check, alert

        check, alert = await self._step(change)
        data = {"symptoms": list(said), "alert": alert.id if alert else None, "via": via}
        self._tell(hh.id, "symptoms", data, check.at)
        return check, alert

    async def request_service(
        self, household_id: str, kind: str, note: str | None
    ) -> ServiceRequest:
        """A resident asks for supplies or a garbage pickup: a task for the watcher on duty."""
        hh = self._household(household_id)
        if kind not in care.SERVICE_KINDS:
            raise CareRefusedError(f"unknown service {kind!r}", 422)
        waiting = await self.store.service_requests(households=[hh.id], open_only=True)
        if len(waiting) >= OPEN_SERVICES_MAX:
            raise CareRefusedError(f"{OPEN_SERVICES_MAX} requests are still waiting", 429)

        def change(now: datetime, w: Writes) -> ServiceRequest:
            care.under_isolation(hh, self.pipeline.watch.care.get(hh.id), now)
            req = ServiceRequest(
                ulid(now), hh.id, kind, now, "page", (note or "").strip()[:200] or None
            )
            w.care.services.append(req)
            w.audit.append(
                audit(now, "resident", "resident", "service_request", "page", req.id, hh.id, kind)
            )
            return req

        req = await self._step(change)
        self._tell(hh.id, "service", _service_json(req), req.requested_at)
        return req

    # --- the console ------------------------------------------------------------------------

    async def complete_service(
        self, request_id: str, by: str, role: str, via: str
    ) -> ServiceRequest:
        """A service request done, by whom and when."""
        req = await self.store.service_request(request_id)
        if req is None or req.household_id not in self.directory.households:
            raise CareRefusedError(f"no service request {request_id}", 404)
        if req.done_at is not None:
            raise CareRefusedError(f"service request {request_id} is done already")

        def change(now: datetime, w: Writes) -> ServiceRequest:
            done = replace(req, done_by=by, done_at=now)
            w.care.services.append(done)
            w.audit.append(
                audit(now, by, role, "service_done", via, req.id, req.household_id, req.kind)
            )
            return done

        done = await self._step(change)
        assert done.done_at is not None
        self._tell(done.household_id, "service", _service_json(done), done.done_at)
        return done

    async def add_visit(
        self,
        household_id: str,
        start: datetime,
        end: datetime,
        reason: str,
        escort: str | None,
        by: str,
        role: str,
        via: str,
    ) -> CareWindow:
        """A visit window staff entered (sampling, delivery, check-in): the door may open in it."""
        hh = self._household(household_id)
        if reason not in care.VISIT_REASONS:
            raise CareRefusedError(f"unknown visit reason {reason!r}", 422)
        if escort is not None and escort not in self.directory.staff:
            raise CareRefusedError(f"no staff member {escort}", 422)
        if reason == "sampling" and escort is None:
            raise CareRefusedError("sampling at the door needs an escort (核酸采样须陪同)", 422)
        if not start < end or end - start > VISIT_MAX:
            raise CareRefusedError(f"a visit ends after its start, within {VISIT_MAX}", 422)

        def change(now: datetime, w: Writes) -> CareWindow:
            opening = Opening(start, end, "visit", reason)
            self.pipeline.watch.add_window(hh.id, opening, now)
            window = _window(ulid(now), hh.id, opening, by, via, now, escort)
            w.care.windows.append(window)
            w.audit.append(audit(now, by, role, "visit", via, window.id, hh.id, reason))
            return window

        window = await self._step(change)
        self._tell(hh.id, "visit", _window_json(window), window.created_at)
        return window

    async def notice_receipt(
        self, household_id: str, by: str, role: str, via: str
    ) -> NoticeReceipt:
        """Staff handed the notice over and the household signed for it (签收)."""
        hh = self._household(household_id)

        def change(now: datetime, w: Writes) -> NoticeReceipt:
            receipt = NoticeReceipt(hh.id, now, by, via)
            w.care.receipts.append(receipt)
            w.audit.append(audit(now, by, role, "notice_receipt", via, hh.id, hh.id))
            return receipt

        receipt = await self._step(change)
        self._tell(hh.id, "receipt", {"by": by}, receipt.at)
        return receipt


def _window_start(directory: Directory, at: datetime) -> datetime | None:
    w = window_at(directory.policy.reading_windows, at, directory.tz)
    return w.start if w is not None else None


def _window(
    wid: str, hh: str, o: Opening, by: str, via: str, now: datetime, escort: str | None = None
) -> CareWindow:
    return CareWindow(wid, hh, o.kind, o.reason, o.start, o.end, by, via, now, escort)


def _window_json(x: CareWindow) -> dict[str, object]:
    return {
        "id": x.id,
        "kind": x.kind,
        "reason": x.reason,
        "start": x.start.isoformat(),
        "end": x.end.isoformat(),
        "escort": x.escort,
    }


def _service_json(x: ServiceRequest) -> dict[str, object]:
    return {
        "id": x.id,
        "kind": x.kind,
        "note": x.note,
        "done_by": x.done_by,
        "done_at": x.done_at.isoformat() if x.done_at else None,
    }


def _said(symptoms: tuple[str, ...]) -> str:
    """What the append-only audit keeps of a check: whether any symptom was reported, not
    which (health data goes with the household's purge; the audit stays)."""
    return "reported" if symptoms else "none"
