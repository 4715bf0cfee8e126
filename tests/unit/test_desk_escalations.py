"""The desk escalates what the old walk over every active alert escalated, looking only at what
is due."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.alerting.desk import AlertDesk
from gateway.store.records import Alert, Writes
from rules import escalation
from rules.alerts import AlertType, Clear, Raise
from rules.directory import Directory
from rules.site import Site
from tests.conftest import site_doc

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 3, 0, tzinfo=TZ)


class WalkingDesk(AlertDesk):
    """The desk with the escalation it had before its index: every active alert, every tick."""

    def escalate_due(self, now: datetime, w: Writes) -> list[Alert]:
        moved = []
        for alert in list(self._active.values()):
            alert = self._staged.get(alert.id, alert)
            if alert.status.is_active and escalation.due(
                alert.escalation_level, alert.next_escalation_at, now, acked=False
            ):
                up = self._escalate(alert, now, w, "")
                if up is not None:
                    moved.append(up)
        return moved


def site(variant: int) -> Directory:
    """0: the test community; 1: only critical alerts escalate; 2: h2 gone from the site."""
    doc: dict[str, Any] = site_doc(ack_timeout_s=60)
    if variant == 1:
        doc["policy"]["escalate_severities"] = ["critical"]
    elif variant == 2:
        doc["households"] = doc["households"][:1]
    return Directory.build(Site.model_validate(doc))


SITES = [site(v) for v in range(3)]
TYPES = [AlertType.DOOR_BREACH, AlertType.FEVER, AlertType.MISSED_READING, AlertType.DEVICE_OFFLINE]


def seen(alert: Alert) -> tuple[Any, ...]:
    """An alert without its id (each desk makes its own)."""
    return (
        alert.key,
        alert.status,
        alert.escalation_level,
        alert.recipients,
        alert.next_escalation_at,
        alert.count,
        alert.updated_at,
    )


steps = st.one_of(
    st.tuples(st.just("wait"), st.sampled_from([1, 29, 30, 31, 59, 60, 61, 200])),
    st.tuples(
        st.just("raise"),
        st.sampled_from(TYPES),
        st.sampled_from(["h1", "h2"]),
        st.booleans(),  # vulnerable
    ),
    st.tuples(st.sampled_from(["ack", "resolve", "clear"]), st.integers(0, 5)),
    st.tuples(st.just("tick")),
    st.tuples(st.just("tick")),
    st.tuples(st.sampled_from(["commit", "commit", "fail"])),
    st.tuples(st.just("site"), st.integers(0, 2)),
)


BREACH = ("raise", AlertType.DOOR_BREACH, "h1", False)
FEVER_H2 = ("raise", AlertType.FEVER, "h2", False)


@settings(max_examples=500, deadline=None)
@given(st.lists(steps, max_size=60))
# A failed tick forgets nothing that was due.
@example([BREACH, ("commit",), ("wait", 61), ("tick",), ("fail",), ("tick",)])
# An alert that does not escalate under one site escalates under the next.
@example([("site", 1), FEVER_H2, ("commit",), ("wait", 61), ("tick",), ("commit",), ("site", 0)])
@example([FEVER_H2, ("commit",), ("site", 2), ("wait", 61), ("tick",), ("commit",), ("site", 0)])
def test_the_index_escalates_what_the_walk_escalated(story):
    """Same story on two desks: the same escalations at every tick, the same book throughout."""
    walk, fast = WalkingDesk(SITES[0], "isogate"), AlertDesk(SITES[0], "isogate")
    writes = {id(walk): Writes(), id(fast): Writes()}
    now = T0
    for step in story:
        what = step[0]
        if what == "wait":
            now += timedelta(seconds=step[1])
            continue
        for d in (walk, fast):
            w = writes[id(d)]
            if what == "raise":
                _, kind, hh, vulnerable = step
                marks = ("elderly_alone",) if vulnerable else ()
                d.apply(Raise(kind, hh, "dev", now, "说", ("w1",), vulnerable=marks), now, w)
            elif what in ("ack", "resolve", "clear"):
                keys = sorted(d._active)
                if not keys:
                    continue
                alert = d.find(d._active[keys[step[1] % len(keys)]].id)
                if alert is None or not alert.status.is_active:
                    continue  # settled earlier in this step
                if what == "ack":
                    d.ack(alert, "w1", now, w)
                elif what == "resolve":
                    d.resolve(alert, "w1", "好", now, w)
                else:
                    d.apply(Clear(alert.type, alert.household_id, "dev", now, "好"), now, w)
            elif what == "tick":
                d.escalate_due(now, w)
            elif what == "commit":
                d.install(w)
                writes[id(d)] = Writes()
            elif what == "fail":
                d.discard()
                writes[id(d)] = Writes()
            else:
                d.directory = SITES[step[1]]
                d.escalate_due(now, w)  # the next tick, under the new site
        staged = [sorted(map(seen, writes[id(d)].alerts.values())) for d in (walk, fast)]
        assert staged[0] == staged[1]
        assert sorted(map(seen, walk.active())) == sorted(map(seen, fast.active()))
