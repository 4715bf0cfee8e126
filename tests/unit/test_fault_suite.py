"""The fault suite's own arithmetic: its traffic has the outcomes it counts on, its counts catch
losses and duplicates. (The suite itself runs real processes: ``make faults``.)"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

import pytest

from bench.faults.community import (
    Action,
    Load,
    garbage,
    household_id,
    kind_of,
    marker,
    plan,
    site_doc,
)
from bench.faults.count import MARK, Tally
from bench.faults.observers import Copy, duplicates
from bench.faults.publisher import CountingLink, Ledger
from devices.events import Rejected
from devices.router import Router
from gateway.ingest.arrival import excerpt
from rules.directory import Directory
from rules.site import Site

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def test_every_kind_of_garbage_is_refused_and_keeps_its_mark():
    """Each garbage message is a Rejected or an unbound device; its mark is in what is kept."""
    site = Site.model_validate(site_doc(40, 4, NOW, []))
    directory = Directory.build(site)
    router = Router(base_topic="isogate", z2m_base="zigbee2mqtt")
    for k in range(16):
        topic, payload = garbage(k, "isogate", "zigbee2mqtt", 40)
        decoded = router.decode(topic, payload)
        if not isinstance(decoded, Rejected):
            assert [directory.bound(e.device) for e in decoded] == [None], (k, topic, payload)
        kept = f"{topic} {excerpt(payload)}"
        assert MARK.search(kept) and MARK.search(kept).group() == marker(k)  # type: ignore[union-attr]


def test_breaches_open_once_in_isolated_households_and_close_again():
    """A breach household opens once and closes; harmless doors never open while open."""
    load = Load(households=300, garbage_share=0.01)
    steps = plan(load, 40)
    opens = Counter(s.index for s in steps if s.action is Action.OPEN and s.breach)
    assert opens and set(opens.values()) == {1}
    assert {kind_of(i) for i in opens} == {"isolated"}
    assert all(
        kind_of(s.index) != "isolated" for s in steps if s.action is Action.OPEN and not s.breach
    )
    state: dict[int, bool] = {}
    for s in steps:
        if s.action in (Action.OPEN, Action.CLOSE):
            assert state.get(s.index, False) is (s.action is Action.CLOSE), s
            state[s.index] = s.action is Action.OPEN
    assert not any(state.values())
    garbage_steps = sum(s.action is Action.GARBAGE for s in steps)
    assert garbage_steps == pytest.approx(len(steps) * 0.01, abs=1)
    assert [s.at for s in steps] == sorted(s.at for s in steps)


def test_counting_link_makes_every_message_unique():
    """The same heartbeat twice is two messages: numbered, with different fingerprints."""
    ledger = Ledger()
    link = CountingLink("127.0.0.1", 1, ledger)  # never connected: paho queues the messages
    body = json.dumps({"type": "door", "open": False})
    link.expect("event", household_id(2))
    link.publish("isogate/dev/door-h0002/event", body)
    link.publish("isogate/dev/door-h0002/event", body)
    first, second = ledger.sent
    assert first.digest != second.digest
    assert (first.n, second.n) == (1, 2)
    assert len(ledger.unconfirmed()) == 2 and ledger.of_kind("event") == []


def test_same_copy_twice_is_a_duplicate_unless_the_broker_marked_it():
    """Same bytes on the same topic twice count; a DUP-marked redelivery is counted apart."""
    a = Copy("isogate/alerts/to/p01", b'{"id": "A", "status": "open"}', dup=False)
    acked = Copy("isogate/alerts/to/p01", b'{"id": "A", "status": "acknowledged"}', dup=False)
    elsewhere = Copy("isogate/alerts", a.payload, dup=False)
    redelivery = Copy(a.topic, a.payload, dup=True)
    assert duplicates([a, acked, elsewhere]) == (0, 0)
    assert duplicates([a, acked, a, redelivery]) == (1, 1)


def test_a_tally_fails_on_any_loss_or_duplicate_and_waits_for_stragglers():
    """Lost events, a missing delivery, a copy sent twice: each is a failure in words."""
    good = Tally("x", "x", published=10, stored=10, breaches=2, alerts=2, acked=2)
    good.delivered = {"officer MQTT": 2}
    good.dup_alerts = {"MQTT": 0}
    assert good.ok and good.settled()
    bad = Tally("x", "x", published=10, stored=9, lost=1, breaches=2, alerts=2, acked=2)
    bad.delivered = {"officer MQTT": 1}
    bad.dup_alerts = {"MQTT": 1}
    assert not bad.settled()
    assert bad.failures == [
        "1 events lost",
        "1 alerts not delivered to officer MQTT",
        "1 alert copies delivered twice to MQTT",
    ]


def test_a_webhook_post_made_again_is_counted_but_is_not_a_failure():
    """Webhooks are at least once, with a delivery id to drop a repeat by; MQTT copies fail."""
    t = Tally("x", "x", published=10, stored=10, breaches=2, alerts=2, acked=2)
    t.delivered = {"officer MQTT": 2, "hook ok": 2}
    t.dup_alerts = {"MQTT": 0}
    t.hook_repeats = {"hook ok": 3}
    assert t.ok
    t.dup_alerts = {"MQTT": 1}
    assert t.failures == ["1 alert copies delivered twice to MQTT"]
