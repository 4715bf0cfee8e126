"""What the release tests share: a household whose one-day isolation is over, and the four
sign-offs that release it."""

from __future__ import annotations

from typing import Any

from gateway.store.care_records import Release
from tests.conftest import Harness, at_local, site_doc

SHORT_START = at_local("2026-11-20 00:00")
AFTER_IT = at_local("2026-11-21 09:00")  # the day after: h1 is due for release


def short_doc() -> dict[str, Any]:
    """The test community with h1 isolated for one day (ended) and h2 for longer."""
    doc = site_doc(door_debounce_s=0)
    doc["households"][0]["isolation"] = {"start": "2026-11-20T00:00", "end": "2026-11-21T00:00"}
    doc["households"][0]["devices"] = []  # nothing to alert about
    doc["community"] = "幸福小区社区"
    doc["hotline"] = "12356"
    return doc


async def release_h1(h: Harness) -> Release:
    """Doctor, officer, supervisor and watcher sign for h1: released."""
    care = h.running.care
    assert care is not None
    rel = None
    for role, who in (("doctor", "d1"), ("officer", "p1"), ("supervisor", "s1"), ("watcher", "w1")):
        _, rel = await care.signoff("h1", role, who, role, None, "console")
    assert rel is not None
    return rel


async def archived(h: Harness, household: str = "h1") -> Release:
    """The household's release once its report is archived."""

    async def done() -> bool:
        rels = await h.running.store.releases([household])
        return bool(rels) and rels[0].report_sha256 is not None

    await h.wait_for(done, timeout=20)
    return (await h.running.store.releases([household]))[0]
