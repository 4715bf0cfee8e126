"""Release (解除隔离): the sign-offs in turn, the doctor's check of the log, the seal removed."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from gateway.care.base import CareBase, audit
from gateway.store.care_records import Release, Signoff
from gateway.store.records import Alert, Writes
from rules import care
from rules.alerts import AlertStatus, AlertType
from rules.care import CareRefusedError
from rules.site import Household, Role

log = logging.getLogger("isogate.care")


class Releases(CareBase):
    """Sign-offs towards release, and the release report's archiving once released."""

    async def signoff(
        self, household_id: str, role: str, by: str, user_role: str, note: str | None, via: str
    ) -> tuple[Signoff, Release | None]:
        """A sign-off towards release by the staff member of ``role``; the last one releases.

        Raises:
            CareRefusedError: 403 not that household's staff member of the role, 409 not due,
                out of turn, or (the doctor) an unresolved alert or a fever resolved without a
                note; 422 an unknown role.
        """
        hh = self._household(household_id)
        try:
            want = Role(role)
        except ValueError:
            raise CareRefusedError(f"no sign-off role {role!r}", 422) from None
        if want not in care.SIGNOFF_ORDER:
            raise CareRefusedError(f"{role} does not sign towards release", 422)
        if not self.may_sign(hh, want, by, user_role):
            raise CareRefusedError(f"{by} is not the {role} of household {hh.id}", 403)
        iso = hh.isolation
        if iso is None:
            raise CareRefusedError(f"household {hh.id} has no isolation period")
        signed = await self.store.signoffs(hh.id, iso.start)
        if want is Role.DOCTOR:
            await self._doctor_may_sign(hh, iso.start)

        def change(now: datetime, w: Writes) -> tuple[Signoff, Release | None]:
            watch = self.pipeline.watch
            if not care.release_due(hh, watch.care.get(hh.id), now):
                raise CareRefusedError(f"household {hh.id} is not due for release")
            nxt = care.next_signoff(s.role for s in signed)
            if nxt is not want:
                waiting = nxt.value if nxt else "nobody"
                raise CareRefusedError(f"the sign-off due next is the {waiting}'s")
            # The note stays with the sign-off (purged with the household), not in the audit.
            so = Signoff(hh.id, iso.start, role, by, now, (note or "").strip() or None)
            w.care.signoffs.append(so)
            w.audit.append(
                audit(
                    now,
                    by,
                    user_role,
                    "signoff",
                    via,
                    role,
                    hh.id,
                    "with note" if so.note else None,
                )
            )
            rel = None
            if care.next_signoff([*(s.role for s in signed), role]) is None:
                rel = Release(hh.id, iso.start, iso.end, now, by)
                watch.release(hh.id, iso.start, now)
                w.care.releases.append(rel)
                w.audit.append(
                    audit(now, by, user_role, "release", via, hh.id, hh.id, "seal removed")
                )
            return so, rel

        so, rel = await self._step(change)
        self._tell(hh.id, "signoff", {"role": role, "by": by, "released": rel is not None}, so.at)
        if rel is not None:
            self._archive(hh.id, rel.period_start)
        return so, rel

    def may_sign(self, hh: Household, role: Role, by: str, user_role: str) -> bool:
        """Whether ``by`` (a user of ``user_role``) is the household's staff member of ``role``."""
        if user_role != role.value:
            return False
        if role is Role.WATCHER:
            return any(s.watcher == by and s.covers_household(hh.id) for s in self.directory.shifts)
        if role is Role.SUPERVISOR:
            return hh.supervisor in (None, by)
        return hh.staff_for(role) == by

    async def _doctor_may_sign(self, hh: Household, period_start: datetime) -> None:
        """The doctor confirms the log only once every alert is resolved, fevers with a note."""
        blockers = await self.doctor_blockers(hh.id, period_start)
        if blockers:
            raise CareRefusedError(blockers[0][1])

    async def doctor_blockers(
        self, household_id: str, period_start: datetime
    ) -> list[tuple[Alert, str]]:
        """What keeps the doctor from signing, oldest first: each alert of the period not
        resolved, and each fever resolved without a note, with why."""
        alerts = await self.store.list_alerts(households=[household_id], limit=10_000)
        found = []
        for a in sorted(alerts, key=lambda a: a.raised_at):
            if a.raised_at < period_start:
                continue
            if a.status is not AlertStatus.RESOLVED:
                why = f"alert {a.id} ({a.type.value}) is not resolved: resolve it with a note first"
                found.append((a, why))
            elif a.type is AlertType.FEVER and not (a.note and a.note.strip()):
                found.append((a, f"fever alert {a.id} was resolved without a note"))
        return found

    def _archive(self, household_id: str, period_start: datetime) -> None:
        if self.on_release is None:
            return
        task = asyncio.ensure_future(self._run_archive(household_id, period_start))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _run_archive(self, household_id: str, period_start: datetime) -> None:
        assert self.on_release is not None
        try:
            await self.on_release(household_id, period_start)
        except Exception:  # kept pending: the next start archives it
            log.exception("could not archive the release report of %s", household_id)
