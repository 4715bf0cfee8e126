"""The stored site at scale: batched writes, a streamed read, the same site back.

On SQLite, and on PostgreSQL where a server answers on 127.0.0.1:5432.
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from gateway.site.stored import (
    bulk,
    current_directory,
    save_site,
    stored_households,
    stored_site,
)
from gateway.store import Store
from isogate.demo import demo_mac, demo_site
from tests.conftest import site_doc
from tests.pg_support import fresh_database

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh store on SQLite, and on the local PostgreSQL where one answers."""
    if request.param == "sqlite":
        async with Store.open(f"sqlite+aiosqlite:///{tmp_path / 'isogate.db'}") as s:
            yield s
        return
    async with fresh_database() as url, Store.open(url) as s:
        yield s


def _household(hid: str, address: str) -> dict[str, Any]:
    return {"id": hid, "address": address, "officer": "p1"}


async def test_saving_again_updates_some_entities_and_inserts_others(store: Store):
    """One batch holds both updates of stored entities and inserts of new ones."""
    staff = {"p1": {"id": "p1", "name": "赵致远", "role": "officer"}}
    first = {f"h{i}": _household(f"h{i}", f"一号楼{i}") for i in range(5)}
    revision = await store.save_site(entities={"staff": staff, "households": first}, meta={}, at=T0)
    assert revision == 1
    second = {
        "h3": _household("h3", "改了的地址"),
        "h9": _household("h9", "新来的一户"),
    }
    revision = await store.save_site(
        entities={"staff": {}, "households": second}, meta={"timezone": "Asia/Shanghai"}, at=T0
    )
    assert revision == 2
    _, doc = await store.read_site()
    by_id = {h["id"]: h["address"] for h in doc["households"]}
    assert by_id == {
        "h0": "一号楼0",
        "h1": "一号楼1",
        "h2": "一号楼2",
        "h3": "改了的地址",
        "h4": "一号楼4",
        "h9": "新来的一户",
    }
    assert [s["id"] for s in doc["staff"]] == ["p1"]
    assert doc["timezone"] == "Asia/Shanghai"


async def test_the_streamed_read_gives_every_entity_in_id_order(store: Store):
    """Read in chunks smaller than the site, every entity arrives once, in id order."""
    households = {f"h{i:03d}": _household(f"h{i:03d}", f"楼{i}") for i in range(25)}
    await store.save_site(entities={"households": households}, meta={"hotline": "12356"}, at=T0)
    seen: list[tuple[str, str]] = []
    revision, rest = await store.read_site_each(lambda k, d: seen.append((k, d["id"])), chunk=4)
    assert revision == 1
    assert rest == {"hotline": "12356"}
    assert seen == [("households", hid) for hid in sorted(households)]


async def test_a_saved_site_reads_back_as_the_same_site(store: Store):
    """The site built entity by entity from the store equals the one that was saved."""
    site = demo_site(300)  # past 255 households: every thermometer keeps its own MAC
    await save_site(store, site, "demo", T0)
    revision, back = await stored_site(store)
    assert revision == 1
    assert back is not None
    by_id = {h.id: h for h in site.households}
    assert len(back.households) == len(by_id)
    assert all(h == by_id[h.id] for h in back.households)
    assert back.staff == sorted(site.staff, key=lambda s: s.id)
    assert (back.policy, back.shifts, back.community) == (site.policy, site.shifts, site.community)
    _, directory = await current_directory(store)
    binding = directory.device("therm-r300")
    assert binding is not None
    assert binding.device.address == demo_mac(300)


async def test_a_part_of_the_site_reads_back_as_those_households_of_the_same_site(store: Store):
    """Named households only, in chunks smaller than the list, with the site's settings; an
    id not stored is left out; nothing loaded yet is None."""
    assert await stored_households(store, ["h01"]) is None
    site = demo_site(30)
    await save_site(store, site, "demo", T0)
    wanted = {"h03", "h17", "h30", "h99"}
    revision, rest, docs = await store.read_site_part("households", wanted, chunk=2)
    assert revision == 1
    assert rest["timezone"] == site.timezone
    assert [d["id"] for d in docs] == ["h03", "h17", "h30"]
    part = await stored_households(store, wanted)
    assert part is not None
    by_id = {h.id: h for h in site.households}
    assert [h == by_id[h.id] for h in part.households] == [True, True, True]
    assert (part.staff, part.policy, part.shifts) == ([], site.policy, site.shifts)
    settings = await stored_households(store, ())
    assert settings is not None
    assert (settings.households, settings.policy) == ([], site.policy)


async def test_loading_a_site_over_a_stored_one_keeps_the_stored_households(store: Store):
    """A file naming one household replaces that one; the stored others stay as they were."""
    from rules.site import Site

    await save_site(store, Site.model_validate(site_doc()), "site.yaml", T0)
    _, before = await stored_site(store)
    assert before is not None
    change = Site.model_validate({"households": [{"id": "h1", "address": "新地址"}]})
    await save_site(store, change, "fix.yaml", T0)
    _, after = await stored_site(store)
    assert after is not None
    by_id = {h.id: h for h in after.households}
    assert by_id["h1"].address == "新地址"
    assert by_id["h2"] == next(h for h in before.households if h.id == "h2")
    # The stored site the merge read was not changed by it.
    assert next(h for h in before.households if h.id == "h1").address == "幸福小区3栋2单元501"


def test_bulk_pauses_the_collector_and_gives_it_back() -> None:
    """Inside bulk() no cyclic collection runs; afterwards the collector is as it was."""
    assert gc.isenabled()
    with bulk():
        assert not gc.isenabled()
        with bulk():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with bulk():
            pass
        assert not gc.isenabled()  # a caller that had it off keeps it off
    finally:
        gc.enable()


def test_demo_macs_stay_distinct_and_valid_for_a_large_community() -> None:
    """Fifty thousand households' thermometers: fifty thousand valid, different MACs."""
    from devices.events import is_mac

    macs = {demo_mac(i) for i in range(1, 50_001)}
    assert len(macs) == 50_000
    assert all(is_mac(m) for m in macs)
    assert demo_mac(1) == "A4:C1:38:00:00:01"  # the small demo's addresses are unchanged


async def test_a_large_compiled_site_is_put_out_of_the_collectors_sight(
    store: Store, monkeypatch: pytest.MonkeyPatch
):
    """From FREEZE_AT households the compiled site is frozen; a small one is left alone."""
    from gateway.site import stored

    await save_site(store, demo_site(30), "demo", T0)
    gc.unfreeze()
    try:
        await current_directory(store)
        assert gc.get_freeze_count() == 0
        monkeypatch.setattr(stored, "FREEZE_AT", 30)
        _, directory = await current_directory(store)
        assert gc.get_freeze_count() > 0
        household = directory.households["h01"]
        assert not any(o is household for o in gc.get_objects())  # frozen: not walked
    finally:
        gc.unfreeze()
