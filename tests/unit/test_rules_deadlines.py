"""The deadline index: what it hands out, how much it keeps, and a tick that costs what is due."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from devices.events import DeviceRef, DoorEvent, HeartbeatEvent, Protocol
from rules import door, health
from rules.alerts import AlertType
from rules.deadlines import Deadlines
from rules.directory import Directory
from rules.door import DoorState
from rules.engine import Watch
from rules.health import DeviceHealth
from rules.site import Site
from tests.conftest import site_doc

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 3, 0, tzinfo=TZ)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


# --- the index alone ----------------------------------------------------------------------------

ops = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.integers(0, 9), st.none() | st.integers(0, 200)),
        st.tuples(st.just("due"), st.integers(0, 30), st.none()),
    ),
    max_size=120,
)


@settings(deadline=None)
@given(ops)
def test_due_hands_out_exactly_the_keys_whose_deadline_came(script):
    """Against a plain dict: due(now) is every key set and not yet handed out with a deadline
    at or before now, earliest first; the heap never holds more than 2 × keys + 64 entries."""
    index: Deadlines[int] = Deadlines()
    model: dict[int, datetime] = {}  # keys set and not handed out since
    now = 0
    for op, a, b in script:
        if op == "set":
            index.set(a, None if b is None else at(b))
            if b is None:
                model.pop(a, None)
            else:
                model[a] = at(b)
        else:
            now += a
            got = index.due(at(now))
            expected = {k for k, t in model.items() if t <= at(now)}
            assert set(got) == expected
            assert len(got) == len(expected)
            assert [index.get(k) for k in got] == sorted(index.get(k) for k in got)  # type: ignore[type-var]
            for k in got:
                del model[k]
        assert len(index._heap) <= 2 * len(index._queued) + 64


def test_a_deadline_moved_later_costs_no_heap_entry():
    """A device heard every minute moves its deadline later each time: one entry, not sixty."""
    index: Deadlines[str] = Deadlines()
    for minute in range(60):
        index.set("door-h1", at(minute * 60 + 4200))
    assert len(index._heap) == 1
    assert index.due(at(4200)) == []  # the entry came up early and went back, at its deadline
    assert index.due(at(59 * 60 + 4200)) == ["door-h1"]


def test_stale_entries_are_compacted_so_memory_stays_linear():
    """A key moved earlier again and again leaves stale entries; they never outgrow the keys."""
    index: Deadlines[int] = Deadlines()
    for k in range(100):
        index.set(k, at(10_000))
    for step in range(5_000):
        index.set(step % 100, at(9_999 - step))
    assert len(index) == 100
    assert len(index._heap) <= 2 * 100 + 64
    assert len(index.due(at(10_000))) == 100


# --- the watch's tick ---------------------------------------------------------------------------


def big_site(n: int) -> Directory:
    """The test community with ``n`` more households, each a door sensor and a thermometer."""
    doc = site_doc()
    extra = doc["households"][1]
    for i in range(n):
        hid = f"x{i}"
        doc["households"].append(
            {
                **extra,
                "id": hid,
                "residents": [{"id": f"rx{i}", "name": f"居民{i}"}],
                "devices": [
                    {"id": f"door-{hid}", "kind": "door", "protocol": "native"},
                    {
                        "id": f"therm-{hid}",
                        "kind": "thermometer",
                        "protocol": "native",
                        "resident": f"rx{i}",
                    },
                ],
            }
        )
    return Directory.build(Site.model_validate(doc))


def counting(monkeypatch, module, name: str) -> list[str]:
    """Count the calls of ``module.name`` (the watch calls it through the module)."""
    calls: list[str] = []
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        calls.append(name)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)
    return calls


def test_a_tick_visits_what_is_due_not_what_exists(monkeypatch):
    """2,000 households: the first tick looks at every door; later ones at the door that opened."""
    d = big_site(2_000)
    doors = {b.device.id: DoorState(False, at(-60)) for b in d.bindings() if "door" in b.device.id}
    w = Watch(d, at(-60), doors=doors, last_tick=at(-1))
    door_ticks = counting(monkeypatch, door, "tick")
    device_ticks = counting(monkeypatch, health, "tick_one")
    w.tick(at(0))
    w.install()
    assert len(door_ticks) == len(doors) and len(device_ticks) == len(d.bindings())
    door_ticks.clear()
    device_ticks.clear()
    for s in range(1, 30):
        assert w.tick(at(s)) == []
        w.install()
    assert door_ticks == device_ticks == []
    b = d.device("door-x7")
    assert b is not None
    ref = DeviceRef(Protocol.NATIVE, "door-x7")
    w.on_event(b, DoorEvent(device=ref, open=True), at(30), at(30))
    w.install()
    for s in range(31, 150):
        assert w.tick(at(s)) == []
        w.install()
    assert door_ticks == device_ticks == []  # its next deadline is 120 s after the opening
    out = w.tick(at(150))
    assert [x.type for x in out] == [AlertType.DOOR_LEFT_OPEN]
    assert door_ticks == ["tick"] and device_ticks == []


def test_a_discarded_tick_loses_no_deadline():
    """The door left open is raised by a tick whose commit fails: the next tick raises it again."""
    d = big_site(0)
    b = d.device("door-h2")
    assert b is not None
    w = Watch(d, at(0), doors={"door-h2": DoorState(True, at(0))}, last_tick=at(0))
    w.tick(at(1))
    w.install()
    first = w.tick(at(120))
    assert [x.type for x in first] == [AlertType.DOOR_LEFT_OPEN]
    w.discard()
    again = w.tick(at(121))
    assert [x.type for x in again] == [AlertType.DOOR_LEFT_OPEN]
    w.install()
    assert w.tick(at(122)) == []


def test_a_restart_rebuilds_the_deadlines_from_the_state():
    """A watch rebuilt from the store with a device long silent raises it at its first tick,
    and a device heard since is due again only once its own allowance runs out."""
    d = big_site(0)
    silent = DeviceHealth(watched_since=at(-7200), last_seen=at(-7200))
    w = Watch(d, at(0), devices={"door-h2": silent}, last_tick=at(-5))
    out = w.tick(at(1))
    assert [(x.type, x.device) for x in out] == [(AlertType.DEVICE_OFFLINE, "door-h2")]
    w.install()
    b = d.device("door-h2")
    assert b is not None
    beat = HeartbeatEvent(device=DeviceRef(Protocol.NATIVE, "door-h2"))
    w.on_event(b, beat, at(10), at(10))
    w.install()
    cleared = w.tick(at(11))
    assert [(x.type, x.device) for x in cleared] == [(AlertType.DEVICE_OFFLINE, "door-h2")]
    w.install()
    allowance = health.allowance_s(b.device, d)
    before = w.tick(at(10 + allowance - 1))
    assert "door-h2" not in {x.device for x in before}
    w.install()
    again = w.tick(at(10 + allowance))
    assert [(x.type, x.device) for x in again] == [(AlertType.DEVICE_OFFLINE, "door-h2")]


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3600))
def test_the_index_holds_one_entry_per_entity(offset):
    """However the deadlines move, the index keeps at most one deadline per door and device."""
    d = big_site(50)
    w = Watch(d, at(0), last_tick=at(-1))
    w.tick(at(0))
    w.install()
    for b in d.bindings():
        if b.device.id.startswith("door-"):
            ref = DeviceRef(Protocol.NATIVE, b.device.id)
            w.on_event(b, DoorEvent(device=ref, open=True), at(offset), at(offset))
    w.install()
    lanes = w._schedule.lanes
    assert len(lanes[0].index) <= len(w.doors)
    assert len(lanes[2].index) <= len(w.health)
    for lane in lanes:
        assert len(lane.index._heap) <= 2 * len(lane.index) + 64
