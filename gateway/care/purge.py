"""Retention (SPEC §5 ``isogate purge``): the personal data of households released more than
``policy.retention_days`` ago is removed; what was removed is counted in the release, the
archived report's SHA-256 stays, and the audit log records the purge.

Per released household not yet purged (see :mod:`gateway.store.purge` for the tables): the
database part in one transaction, then the database file compacted (SQLite: VACUUM and an
emptied write-ahead log, so the rows are gone from the file's bytes); the files: the evidence
of its alerts (``<data_dir>/evidence/<alert id>/``, frames and manifest) and the archived release
report (``<data_dir>/<report_path>.*``). The stored site keeps the household, so that its ids
still resolve, with its residents named ``已清除``, their phones dropped and the address
``已清除``; a running gateway reloads it like any site change.

A household whose id started a new isolation period since keeps that period: only what came
before it is purged, and its site document (the new period's) stays as it is.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from devices.events import DeviceRef
from gateway.camera.evidence_capture import MANIFEST
from gateway.camera.evidence_manifest import is_alert_id
from gateway.notify.channels.text import TITLES
from gateway.site.stored import stored_households
from gateway.store import Store
from gateway.store.care_records import Release
from gateway.store.purge import REDACTED, PurgeScope
from gateway.store.records import AuditEntry
from rules.alerts import AlertType
from rules.site import Household, Policy

log = logging.getLogger("isogate.purge")

MESSAGES = {t.value: f"{TITLES.get(t, t.value)}（个人信息已清除）" for t in AlertType}
"""What a purged alert's message reads: its type, nothing about whom."""


@dataclass(frozen=True, slots=True)
class PurgePlan:
    """One household's purge: what it covers, what it would remove, counted, and its files."""

    release: Release
    scope: PurgeScope
    counts: dict[str, int]
    files: tuple[Path, ...]


async def plan(store: Store, data_dir: Path, now: datetime) -> list[PurgePlan]:
    """The households due for a purge at ``now`` and what each would remove (nothing changes)."""
    settings = await stored_households(store, ())
    policy = (settings.policy if settings else None) or Policy()
    releases = await store.releases_to_purge(now - timedelta(days=policy.retention_days))
    if not releases:
        return []
    site = await stored_households(store, {r.household_id for r in releases})
    households = {h.id: h for h in site.households} if site else {}
    plans = []
    for release in releases:
        hh = households.get(release.household_id)
        scope = _scope(release, hh)
        alert_ids = set(await store.purge_alert_ids(scope))
        files = await asyncio.to_thread(_files, data_dir, release, scope, alert_ids)
        counts = await store.purge_counts(scope) | {"files": len(files)}
        plans.append(PurgePlan(release, scope, counts, files))
    return plans


async def purge(
    store: Store,
    data_dir: Path,
    now: datetime,
    *,
    actor: str = "system",
    role: str = "system",
    via: str = "system",
) -> list[PurgePlan]:
    """Purge every household due at ``now``; returns what was purged, with the counts recorded.

    Files go first (a crash between leaves the database part for the next run to finish), then
    each household's rows in a transaction of their own, then the file is compacted once.
    """
    done = []
    for p in await plan(store, data_dir, now):
        removed = await asyncio.to_thread(_remove, p.files)
        hh = p.scope.household_id
        audit = AuditEntry(
            now, actor, role, "purge", via, target=hh, household=hh, detail=_detail(p, removed)
        )
        counts = await store.purge_household(
            p.scope, now, files=removed, messages=MESSAGES, audit=audit
        )
        log.info("personal data of household %s purged: %s", hh, counts)
        done.append(PurgePlan(p.release, p.scope, counts, p.files))
    if done:
        await store.compact()
    return done


def scrubbed(hh: Household) -> dict[str, Any]:
    """The household's site document without names, phones or address (ids stay)."""
    residents = [r.model_copy(update={"name": REDACTED, "phone": None}) for r in hh.residents]
    clean = hh.model_copy(update={"address": REDACTED, "residents": residents})
    return clean.model_dump(mode="json", exclude_none=True)


def _scope(release: Release, hh: Household | None) -> PurgeScope:
    iso = hh.isolation if hh else None
    later = iso is not None and iso.start > release.period_start
    keys = tuple(
        sorted({DeviceRef(d.protocol, d.wire_address()).key() for d in (hh.devices if hh else [])})
    )
    return PurgeScope(
        household_id=release.household_id,
        period_start=release.period_start,
        before=iso.start if later and iso is not None else None,
        device_keys=keys,
        site_doc=scrubbed(hh) if hh is not None and not later else None,
    )


def _files(
    data_dir: Path, release: Release, scope: PurgeScope, alert_ids: set[str]
) -> tuple[Path, ...]:
    """The evidence of the household's alerts and its archived release report (blocking)."""
    found: list[Path] = []
    root = data_dir / "evidence"
    if root.is_dir():
        for entry in sorted(root.iterdir()):
            ours = entry.is_dir() and is_alert_id(entry.name)
            if ours and (entry.name in alert_ids or _evidence_of(entry, scope)):
                found += sorted(p for p in entry.rglob("*") if p.is_file())
    if release.report_path:
        base = (data_dir / release.report_path).resolve()
        if base.is_relative_to(data_dir.resolve()) and base.parent.is_dir():
            found += sorted(p for p in base.parent.iterdir() if p.is_file() and p.stem == base.name)
    return tuple(found)


def _evidence_of(directory: Path, scope: PurgeScope) -> bool:
    """Evidence kept for the household whose alert row is gone (its manifest names it)."""
    if scope.before is not None:
        return False  # only the alerts' own evidence when a later period is kept
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("household") == scope.household_id


def _remove(files: tuple[Path, ...]) -> int:
    """Delete the files (and the evidence directories they leave empty); how many went."""
    removed = 0
    for path in files:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed += 1
        parent = path.parent
        if parent.parent.name == "evidence" and not any(parent.iterdir()):
            shutil.rmtree(parent, ignore_errors=True)
    return removed


def _detail(p: PurgePlan, files: int) -> str:
    c = p.counts
    released = p.release.released_at.isoformat(timespec="seconds")
    return (
        f"released {released}; events {c['events']}, readings {c['readings']}, "
        f"alerts {c['alerts']}, symptom checks {c['symptom_checks']}, files {files}"
    )
