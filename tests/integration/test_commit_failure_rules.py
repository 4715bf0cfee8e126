"""A failed commit leaves the rules' state as committed: the retried batch decides the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devices.router import Router
from gateway.alerting.desk import AlertDesk
from gateway.clock import FakeClock
from gateway.ingest.arrival import Arrival
from gateway.ingest.pipeline import Pipeline
from gateway.site.stored import current_directory, save_site
from gateway.store import Store
from rules.site import Site
from tests.conftest import at_local, site_doc

BASE = "isogate"
START = at_local("2026-11-23 03:00")


class DatabaseDownError(Exception):
    """The database refuses everything while it is down."""


@pytest.fixture
async def pipeline(tmp_path: Path) -> AsyncIterator[Pipeline]:
    """A pipeline on a real SQLite file, with h2's door closed and committed."""
    async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'g.db'}") as store:
        await save_site(store, Site.model_validate(site_doc(door_debounce_s=0)), "test", START)
        _, directory = await current_directory(store)
        clock = FakeClock(START)
        p = Pipeline(
            store, AlertDesk(directory, BASE), directory, Router(BASE, "z2m", "omg"), clock
        )
        await p.restore()
        await p.process([door("false")])
        yield p


def door(is_open: str) -> Arrival:
    """A native door report without a sequence number: only the rules decide what it is."""
    body = f'{{"type": "door", "open": {is_open}}}'.encode()
    return Arrival("mqtt", f"{BASE}/dev/door-h2/event", body, START)


def take_down(monkeypatch: pytest.MonkeyPatch, store: Store) -> None:
    """Every store operation the pipeline uses fails, the read-back after the failure too."""

    async def down(*_: Any, **__: Any) -> Any:
        raise DatabaseDownError

    for name in ("commit", "unresolved_alerts", "active_alerts", "device_statuses"):
        monkeypatch.setattr(store, name, down)


async def test_a_failed_commit_forgets_the_opening_and_the_retry_breaches(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
):
    """The opening's commit fails with the database down; once it is back, the retry alerts."""
    with monkeypatch.context() as m:
        take_down(m, pipeline.store)
        with pytest.raises(DatabaseDownError):
            await pipeline.process([door("true")])
    assert pipeline.watch.doors["door-h2"].open is False
    await pipeline.process([door("true")])  # the broker redelivers the unacknowledged message
    [breach] = await pipeline.store.unresolved_alerts()
    assert (breach.type.value, breach.household_id) == ("door_breach", "h2")
