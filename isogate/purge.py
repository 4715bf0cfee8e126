"""``isogate purge [--dry-run]``: personal data of households released more than
``policy.retention_days`` ago removed; counts and report hashes stay (SPEC §5).

Works on the data dir (or database) alone, with or without a running gateway (which takes the
scrubbed site up as any site change). The audit log records each household's purge under the
operator's login name, ``via=cli``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from gateway.care.purge import PurgePlan, plan, purge
from gateway.clock import Clock
from gateway.site.stored import stored_households
from gateway.store import Store
from isogate.users import operator


async def run_purge(
    db_url: str, data_dir: Path, clock: Clock, *, dry_run: bool, say: Callable[[str], None]
) -> int:
    """Purge (or, ``dry_run``, list) what is due now; say each household; how many there were.

    ``data_dir`` is absolute (files are shown relative to it).
    """
    async with Store.open(db_url) as store:
        site = await stored_households(store, ())
        tz = site.tz if site else ZoneInfo("UTC")
        now = clock.now()
        if dry_run:
            say("dry run: nothing is changed")
            plans = await plan(store, data_dir, now)
        else:
            plans = await purge(store, data_dir, now, actor=operator(), role="cli", via="cli")
        for p in plans:
            say(describe(p, tz))
            for path in p.files:
                say(f"  {_shown(path, data_dir)}")
    verb = "would be purged" if dry_run else "purged"
    say(f"{len(plans)} household(s) {verb}")
    return len(plans)


def describe(p: PurgePlan, tz: ZoneInfo) -> str:
    """One household's line: id, when released, what goes, counted."""
    c = p.counts
    released = _local(p.release.released_at, tz)
    kept = f" (before {_local(p.scope.before, tz)} only)" if p.scope.before else ""
    return (
        f"{p.release.household_id}  released {released}{kept}  events {c['events']}, "
        f"readings {c['readings']}, alerts {c['alerts']}, symptom checks {c['symptom_checks']}, "
        f"files {c['files']}"
    )


def _local(t: datetime, tz: ZoneInfo) -> str:
    return t.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _shown(path: Path, data_dir: Path) -> str:
    return str(path.relative_to(data_dir)) if path.is_relative_to(data_dir) else str(path)
