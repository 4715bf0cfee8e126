"""The technicians' lists stay within their bounds at every commit, not only after a prune."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.store import Store, intake
from gateway.store.records import RejectedRecord, UnknownSighting, Writes

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
KEEP = 40


def _garbage(n: int) -> RejectedRecord:
    return RejectedRecord(T0 + timedelta(seconds=n), "mqtt", "z2m/x", "not JSON", f"junk {n}")


def _stranger(n: int) -> UnknownSighting:
    at = T0 + timedelta(seconds=n)
    return UnknownSighting(f"z2m:dev{n}", "zigbee2mqtt", f"dev{n}", "z2m/x", at, "{}")


async def test_a_flood_of_rejected_input_never_grows_the_list_past_its_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KEEP+500 rejected messages one commit at a time: at most KEEP rows after every commit."""
    monkeypatch.setattr(intake, "REJECTED_KEEP", KEEP)
    async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'isogate.db'}") as store:
        held = []
        for n in range(KEEP + 500):
            await store.commit(Writes(rejected=[_garbage(n)]))
            held.append(len(await store.list_rejected(limit=10 * KEEP)))
        await store.commit(Writes(rejected=[_garbage(10_000 + n) for n in range(3 * KEEP)]))
        newest = await store.list_rejected(limit=10 * KEEP)
    assert max(held) == KEEP
    assert held[KEEP - 1 :] == [KEEP] * (len(held) - KEEP + 1)
    assert len(newest) == KEEP
    assert newest[0].payload == f"junk {10_000 + 3 * KEEP - 1}"  # the newest are the ones kept


async def test_many_unknown_devices_keep_the_most_recently_heard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Unbound addresses beyond the bound push out the least recently heard, at each commit."""
    monkeypatch.setattr(intake, "UNKNOWN_KEEP", KEEP)
    async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'isogate.db'}") as store:
        held = []
        for n in range(KEEP + 60):
            await store.commit(Writes(unknown=[_stranger(n)]))
            held.append(len(await store.list_unknown(limit=10 * KEEP)))
        kept = {u["device_key"] for u in await store.list_unknown(limit=10 * KEEP)}
    assert max(held) == KEEP
    assert kept == {f"z2m:dev{n}" for n in range(60, KEEP + 60)}
