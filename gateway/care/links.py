"""The resident's link: the secret in the notice's QR code, derived from the gateway's link key
and a generation (only its hash is stored), rotated by staff."""

from __future__ import annotations

from datetime import datetime

from gateway.care.base import CareBase, audit, secret_hash
from gateway.store.records import Writes
from rules.care import CareRefusedError


class ResidentLinks(CareBase):
    """Make, rotate and resolve households' pre-report links."""

    def _secret(self, household_id: str, generation: int) -> str:
        if self._links is None:
            raise CareRefusedError("no link key: resident links are off", 503)
        return self._links.signature(f"resident:{household_id}", generation)[:24]

    async def link_secret(self, household_id: str, by: str, role: str, via: str) -> str:
        """The secret of the household's pre-report link (made on first use)."""
        self._household(household_id)
        if household_id in self._generation:
            return self._secret(household_id, self._generation[household_id])
        return await self._new_link(household_id, 1, by, role, via, "link_made")

    async def rotate_link(self, household_id: str, by: str, role: str, via: str) -> str:
        """A new secret for the household's link: the old one answers 404 from now on."""
        self._household(household_id)
        generation = self._generation.get(household_id, 0) + 1
        return await self._new_link(household_id, generation, by, role, via, "link_rotated")

    async def _new_link(
        self, household_id: str, generation: int, by: str, role: str, via: str, action: str
    ) -> str:
        secret = self._secret(household_id, generation)
        digest = secret_hash(secret)

        def change(now: datetime, w: Writes) -> None:
            w.care.links[household_id] = (generation, digest, now)
            w.audit.append(audit(now, by, role, action, via, household_id, household_id))

        await self._step(change)
        old = [h for h, hh in self._by_hash.items() if hh == household_id]
        for h in old:
            del self._by_hash[h]
        self._by_hash[digest] = household_id
        self._generation[household_id] = generation
        return secret

    def household_for(self, secret: str) -> str | None:
        """The household a link's secret names now; None for a wrong or rotated one."""
        hh = self._by_hash.get(secret_hash(secret))
        return hh if hh is not None and hh in self.directory.households else None
