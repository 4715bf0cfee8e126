"""The alert desk's news: a step sends each alert's quiet changes on a topic once, as they end."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gateway.store.records import Writes
from tests.samples import breach_raise as breach
from tests.samples import demo_desk as desk
from tests.samples import staged_repeats

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 3, 0, tzinfo=TZ)
ALL = "isogate/alerts"


def news(w: Writes, topic: str) -> list[tuple[str, int, str]]:
    """(alert id, count, status) of each item queued on an MQTT topic, in order."""
    out = []
    for item in w.outbox:
        if item.channel == "mqtt" and item.target == topic:
            doc = json.loads(item.body)
            out.append((doc["id"], doc["count"], doc["status"]))
    return out


def test_repeats_in_one_step_reach_the_consoles_once_with_the_last_count():
    """A breach and three repeats decided in one step: the all-alerts topic gets the raise
    and one update saying 4; the officer and the watcher get the raise only; the history
    keeps every repeat."""
    d = desk()
    w, first = staged_repeats(d, "h1", T0, 3)
    assert news(w, ALL) == [(first.id, 1, "open"), (first.id, 2, "open")]  # not yet sealed
    d.seal(w)
    assert news(w, ALL) == [(first.id, 1, "open"), (first.id, 4, "open")]
    assert news(w, "isogate/alerts/to/p1") == [(first.id, 1, "open")]
    assert news(w, "isogate/alerts/to/w1") == [(first.id, 1, "open")]
    assert [h.action for h in w.history].count("repeated") == 3
    [update] = [i for i in w.outbox if i.target == ALL and json.loads(i.body)["count"] == 4]
    assert update.created_at == T0 + timedelta(seconds=3)


def test_each_alert_is_coalesced_on_its_own_and_a_loud_change_is_kept_in_its_place():
    """Repeats of two households' breaches interleaved, then h1's acknowledged, then a plan
    step ticked on it: per alert the consoles see every state a step ends in, in order."""
    d = desk()
    w = Writes()
    h1 = d.apply(breach("h1", T0), T0, w)
    h2 = d.apply(breach("h2", T0), T0, w)
    assert h1 is not None and h2 is not None
    d.install(w)
    w = Writes()
    for n in range(1, 3):
        at = T0 + timedelta(seconds=n)
        d.apply(breach("h1", at), at, w)
        d.apply(breach("h2", at), at, w)
    later = T0 + timedelta(seconds=5)
    acked = d.ack(d.find(h1.id) or h1, "p1", later, w)
    d.step(acked, "call_officer", "w1", later, w)
    d.step(d.find(h1.id) or acked, "check_camera", "w1", later, w)
    d.seal(w)
    assert news(w, ALL) == [
        (h1.id, 3, "open"),
        (h2.id, 3, "open"),
        (h1.id, 3, "acknowledged"),
        (h1.id, 3, "acknowledged"),
    ]
    *_, ticked = [json.loads(i.body)["steps"] for i in w.outbox if i.target == ALL]
    assert [s["step"] for s in ticked] == ["call_officer", "check_camera"]


def test_repeats_in_separate_steps_are_each_sent():
    """Committed one at a time, every repeat is news of its own."""
    d = desk()
    w = Writes()
    first = d.apply(breach("h1", T0), T0, w)
    assert first is not None
    d.install(w)
    counts = []
    for n in range(1, 3):
        at = T0 + timedelta(seconds=n)
        w = Writes()
        d.apply(breach("h1", at), at, w)
        d.seal(w)
        counts += [c for _, c, _ in news(w, ALL)]
        d.install(w)
    assert counts == [2, 3]
