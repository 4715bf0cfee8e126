"""The load generator publishes what it counts, on the real topics, in payloads decoders read."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter, defaultdict
from typing import Any

from devices.camera import AnalysisFrame, decode_for_analysis
from devices.events import DoorEvent, Event, TemperatureEvent
from devices.router import Router
from simulators.community import camera_id, door_of, household_id, spread, thermometer_mac
from simulators.link import SimLink
from simulators.loadgen import LoadGen, LoadPlan, _Round
from tests.conftest import BrokerUnderTest


class Recorder:
    """A subscriber to everything under the test's topics, keeping what it received."""

    def __init__(self, broker: BrokerUnderTest, bases: list[str]) -> None:
        self.messages: list[tuple[float, str, bytes]] = []
        self.lock = threading.Lock()
        self.link = SimLink(broker.host, broker.port)
        self.bases = bases

    def __enter__(self) -> Recorder:
        self.link.__enter__()
        self.link.client.on_message = self._on
        for base in self.bases:
            self.link.client.subscribe(f"{base}/#", qos=1)
        time.sleep(0.3)
        return self

    def _on(self, _c: Any, _u: Any, m: Any) -> None:
        with self.lock:
            self.messages.append((time.monotonic(), m.topic, bytes(m.payload)))

    def __exit__(self, *exc: object) -> None:
        self.link.__exit__(None, None, None)


def _plan(tag: str, **over: Any) -> LoadPlan:
    return LoadPlan(
        **{
            "households": 30,
            "heartbeat_s": 1.0,
            "day_s": 6.0,
            "openings_per_day": 3.0,  # each free household opens every 2 s or so
            "breaches_per_day": 3.0,
            "isolated_share": 0.2,
            "camera_share": 0.1,
            "camera_fps": 2.0,
            "hold_s": (0.2, 0.4),
            "spare": frozenset({3, 4}),
            "seed": 7,
            "base_topic": f"{tag}-isogate",
            "z2m_base": f"{tag}-z2m",
            "omg_base": f"{tag}-home",
            **over,
        }
    )


def _run(broker: BrokerUnderTest, plan: LoadPlan, seconds: float) -> tuple[Any, Recorder]:
    with Recorder(broker, [plan.base_topic, plan.z2m_base, plan.omg_base]) as rec:
        with LoadGen(broker.host, broker.port, plan) as gen:
            time.sleep(seconds)
        tally = gen.counts()
        deadline = time.monotonic() + 10
        while len(rec.messages) < sum(tally.acked.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # nothing more should come
    return tally, rec


def test_every_message_it_counts_arrives_and_decodes_as_its_device(broker: BrokerUnderTest):
    """What the generator counts as acknowledged is what a subscriber receives, all decodable."""
    plan = _plan(uuid.uuid4().hex[:8])
    tally, rec = _run(broker, plan, 3.0)
    router = Router(plan.base_topic, plan.z2m_base, plan.omg_base)
    assert tally.sent == tally.acked
    assert sum(tally.acked.values()) == len(rec.messages)
    doors = {
        f"{plan.base_topic}/dev/{a}/event" if p == "native" else f"{plan.z2m_base}/{a}": i
        for i in range(1, plan.households + 1)
        for p, a in [door_of(i)]
    }
    macs = {thermometer_mac(i).replace(":", ""): i for i in range(1, plan.households + 1)}
    frames = {f"{plan.base_topic}/cam/{camera_id(i)}/frame": i for i in range(1, 31)}
    received: Counter[str] = Counter()
    door_messages: dict[int, list[tuple[float, DoorEvent]]] = defaultdict(list)
    for at, topic, payload in rec.messages:
        if topic in frames:
            assert spread(frames[topic], plan.camera_share)
            assert isinstance(decode_for_analysis(payload), AnalysisFrame)
            received["frame"] += 1
            continue
        decoded = router.decode(topic, payload)
        [event] = decoded if isinstance(decoded, list) else [decoded]
        assert isinstance(event, Event), (topic, payload, decoded)
        if topic in doors:
            assert isinstance(event, DoorEvent)
            door_messages[doors[topic]].append((at, event))
            received["door"] += 1
        else:
            assert isinstance(event, TemperatureEvent)
            assert topic.rsplit("/", 1)[1] in macs
            assert 36.0 <= event.celsius <= 37.0
            received["reading"] += 1
    assert received["frame"] == tally.acked["frame"] > 0
    assert received["reading"] == tally.acked["reading"] > 0
    door_kinds = ("heartbeat", "opening", "breach")
    assert received["door"] == sum(tally.acked[k] for k in door_kinds)
    assert tally.acked["heartbeat"] > 0 and tally.acked["opening"] > 0
    # The spare households' doors are left alone; every other door reported.
    assert set(door_messages) == set(range(1, plan.households + 1)) - plan.spare
    # Openings of isolated households are the counted breaches, the others plain openings: each
    # is one message that opens the door and at most one that closes it.
    openings: Counter[str] = Counter()
    for i, messages in door_messages.items():
        states = [False] + [e.open for _, e in messages]
        opened = sum(1 for a, b in itertools.pairwise(states) if b and not a)
        openings["breach" if plan.isolated(i) else "opening"] += opened
    for kind in ("opening", "breach"):
        assert tally.acked[kind] / 2 <= openings[kind] <= tally.acked[kind]
    assert openings["opening"] > 0 and openings["breach"] > 0


def test_heartbeats_go_round_the_doors_one_at_a_time(broker: BrokerUnderTest):
    """Each door reports once per period, in turn: every door before any door again."""
    plan = _plan(
        uuid.uuid4().hex[:8],
        households=40,
        heartbeat_s=2.0,
        openings_per_day=0.0,
        breaches_per_day=0.0,
        readings_per_day=0.0,
        camera_share=0.0,
        spare=frozenset(),
    )
    tally, rec = _run(broker, plan, 3.0)
    topics = [topic for _, topic, _ in rec.messages]
    assert len(topics) == tally.acked["heartbeat"] == sum(tally.acked.values())
    assert len(topics) > 40
    first = topics[:40]
    assert len(set(first)) == 40
    assert topics[40:] == first[: len(topics) - 40]


def test_a_round_spreads_its_items_evenly_over_the_period() -> None:
    """50,000 doors every 60 s: one every 1.2 ms, the first again after 60 s."""
    r = _Round("heartbeat", list(range(1, 50_001)), 60.0, start=100.0)
    assert r.step == 60.0 / 50_000
    assert [r.take() for _ in range(3)] == [1, 2, 3]
    r.k = 50_000
    assert r.next_at == 160.0
    assert r.take() == 1


def test_the_community_numbering_is_the_demo_sites() -> None:
    """The generator's devices are the ones the demo's site file binds."""
    from isogate.demo import demo_site

    site = demo_site(12)
    for i, hh in enumerate(site.households, start=1):
        assert hh.id == household_id(i)
        door = next(d for d in hh.devices if d.kind == "door")
        protocol, address = door_of(i)
        assert door.protocol.value == protocol
        assert door.wire_address() == address
        therm = next(d for d in hh.devices if d.kind == "thermometer")
        assert therm.address == thermometer_mac(i)
