"""Counting after a run: what was published against what the database and the recipients hold.

The database is read read-only (SQLite ``mode=ro``), beside the running gateway. An event is
found by the fingerprint the gateway stores with it (``events.digest``); a garbage message by
the mark it carries, in the rejected list; an alert by its household.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from bench.faults.community import address, officer_of
from bench.faults.observers import AlertListener, Officers, duplicates, twice
from bench.faults.publisher import Ledger
from bench.faults.scene import Scene
from simulators.modem import ModemSimulator
from simulators.webhook_receiver import WebhookReceiver

MARK = re.compile(r"GARBAGE-\d{6}")


@dataclass(frozen=True, slots=True)
class Stored:
    """What the database holds after a run."""

    digests: Counter[str]
    rejected: list[str]  # topic and payload excerpt of each rejected record
    breaches: list[tuple[str, str, str, bool]]  # alert id, household, status, acknowledged
    pending: int  # outbox rows not yet delivered


def read_db(db: Path) -> Stored:
    """Read the counts from the SQLite file, read-only."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        digests = Counter(d for (d,) in conn.execute("SELECT digest FROM events"))
        rejected = [f"{t} {p}" for t, p in conn.execute("SELECT topic, payload FROM rejected")]
        breaches = [
            (i, h, s, a is not None)
            for i, h, s, a in conn.execute(
                "SELECT id, household_id, status, acked_at FROM alerts WHERE type = 'door_breach'"
            )
        ]
        pending = conn.execute("SELECT count(*) FROM outbox WHERE state = 'pending'").fetchone()
    finally:
        conn.close()
    return Stored(digests, rejected, breaches, int(pending[0]))


@dataclass
class Tally:
    """One scenario's counts, and what they fail on."""

    scenario: str
    title: str
    note: str = ""
    skipped: str | None = None
    error: str | None = None
    published: int = 0  # events the broker acknowledged (garbage apart)
    unconfirmed: int = 0  # messages the broker never acknowledged
    stored: int = 0  # of those published, found in the event log
    lost: int = 0
    dup: int = 0  # extra copies in the event log the gateway made
    dup_resent: int = 0  # extra copies of a message the device link itself sent twice
    stray: int = 0  # events stored that nobody published, or garbage stored as an event
    garbage_sent: int = 0
    garbage_rejected: int = 0  # distinct garbage messages found in the rejected list
    garbage_twice: int = 0  # rejected records of a garbage message already there
    rejected_other: int = 0  # rejected records that are not garbage (refused acks, ...)
    breaches: int = 0  # openings that must alert: the alerts expected
    alerts: int = 0  # of those, alerts stored
    alerts_extra: int = 0  # door_breach alerts beyond one per breach
    acked: int = 0  # of those alerts, acknowledged (the police apps ack each one)
    delivered: dict[str, int] = field(default_factory=dict)  # channel → breach alerts delivered
    dup_alerts: dict[str, int] = field(default_factory=dict)  # channel → copies sent twice
    # Webhook posts made again with the same X-Isogate-Delivery-Id (a receiver drops them by
    # it): at least once, counted and shown, not a failure; MQTT and SMS copies are.
    hook_repeats: dict[str, int] = field(default_factory=dict)
    redelivered: int = 0  # alert copies the broker sent again (DUP): its at-least-once
    twice: list[str] = field(default_factory=list)  # a few of the alert copies sent twice
    pending: int = 0  # outbox notices still waiting
    rss_peak_mib: float = 0.0
    down_s: float = 0.0  # time /healthz did not answer 200
    down_parts: dict[str, float] = field(default_factory=dict)  # and which parts were down
    deaths: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        """Every loss, duplicate or crash, in words; empty when the scenario passed."""
        if self.skipped:
            return []
        out = [self.error] if self.error else []
        out += self.deaths
        checks = [
            (self.unconfirmed, "messages the broker never acknowledged to the publisher"),
            (self.lost, "events lost"),
            (self.dup, "events stored twice"),
            (self.stray, "events stored that were not published as events"),
            (
                self.garbage_sent - self.garbage_rejected,
                "garbage messages not in the rejected list",
            ),
            (self.breaches - self.alerts, "breaches without an alert"),
            (self.alerts_extra, "alerts more than one per breach"),
            (self.alerts - self.acked, "alerts whose acknowledgement was not applied"),
            (self.pending, "notices still pending in the outbox"),
        ]
        checks += [
            (self.breaches - n, f"alerts not delivered to {ch}") for ch, n in self.delivered.items()
        ]
        checks += [
            (n, f"alert copies delivered twice to {ch}") for ch, n in self.dup_alerts.items()
        ]
        out += [f"{n} {what}" for n, what in checks if n > 0]
        return out

    @property
    def ok(self) -> bool:
        """Whether the scenario passed (a skipped one is not a failure)."""
        return not self.failures

    def settled(self) -> bool:
        """Whether everything published has arrived everywhere it should (the drain is over)."""
        return (
            self.stored >= self.published
            and self.garbage_rejected >= self.garbage_sent
            and self.alerts >= self.breaches
            and self.acked >= self.alerts
            and all(n >= self.breaches for n in self.delivered.values())
            and self.pending == 0
        )


class Audience(Protocol):
    """Who received the alerts of a run (a :class:`Scene`, or the cluster suite's)."""

    officers: Officers
    listener: AlertListener
    hooks: dict[str, WebhookReceiver]
    modem: ModemSimulator | None

    @property
    def base_topic(self) -> str: ...

    @property
    def officer_count(self) -> int: ...


def tally(scene: Scene, ledger: Ledger, t: Tally) -> Tally:
    """Fill ``t`` with the counts of ``scene`` now (blocking: run it in a thread)."""
    count(read_db(scene.db), scene, ledger, t)
    gw = scene.gateway
    t.rss_peak_mib, t.down_s, t.deaths = gw.peak_mib, gw.down_s, list(gw.deaths)
    t.down_parts = {part: round(s, 1) for part, s in gw.down_parts.items()}
    return t


def count(db: Stored, scene: Audience, ledger: Ledger, t: Tally) -> Tally:
    """Fill ``t`` with what ``db`` holds and ``scene``'s recipients got, against ``ledger``."""
    events = ledger.of_kind("event", "breach")
    t.published = len(events)
    t.unconfirmed = len(ledger.unconfirmed())
    published = {s.digest for s in events}
    t.stored = len(published & db.digests.keys())
    t.lost = t.published - t.stored
    for d, n in db.digests.items():
        if n > 1:
            if d in ledger.resent:
                t.dup_resent += n - 1
            else:
                t.dup += n - 1
    t.stray = len(db.digests.keys() - published)

    garbage = {s.household for s in ledger.of_kind("garbage")}
    t.garbage_sent = len(garbage)
    marks: Counter[str] = Counter()
    for row in db.rejected:
        found = MARK.search(row)
        if found:
            marks[found.group()] += 1
        else:
            t.rejected_other += 1
    t.garbage_rejected = len(garbage & marks.keys())
    t.garbage_twice = sum(n - 1 for n in marks.values())

    breached = {s.household: s for s in ledger.of_kind("breach")}
    t.breaches = len(breached)
    alert_of: dict[str, str] = {}
    for alert_id, hh, _status, acked in sorted(db.breaches):
        if hh in breached and hh not in alert_of:
            alert_of[hh] = alert_id
            t.acked += acked
        else:
            t.alerts_extra += 1
    t.alerts = len(alert_of)
    t.pending = db.pending
    _deliveries(scene, alert_of, t)
    return t


def _deliveries(scene: Audience, alert_of: dict[str, str], t: Tally) -> None:
    """Per channel: how many breach alerts arrived, and copies delivered twice."""
    ids = set(alert_of.values())
    officer_got = scene.officers.raised()
    t.delivered["officer MQTT"] = sum(
        officer_got.get(a) == officer_of(int(hh[1:]), scene.officer_count)
        for hh, a in alert_of.items()
    )
    copies = scene.listener.received()
    all_topic = f"{scene.base_topic}/alerts"
    t.delivered["alerts topic"] = len(
        ids & {c.alert.get("id") for c in copies if c.topic == all_topic}
    )
    again, redelivered = duplicates(copies)
    t.twice = twice(copies)
    officer_again, officer_redelivered = duplicates(scene.officers.copies())
    t.dup_alerts["MQTT"] = again
    t.dup_alerts["police apps"] = officer_again
    t.redelivered = redelivered + officer_redelivered
    for name, hook in scene.hooks.items():
        got = hook.deliveries
        t.delivered[name] = len(ids & {d.alert_id for d in got})
        keys = Counter(d.delivery_id or f"{d.alert_id}:{d.status}" for d in got)
        t.hook_repeats[name] = sum(n - 1 for n in keys.values() if n > 1)
    if scene.modem is not None:
        texts = [sms.text for sms in scene.modem.sent]
        per = Counter(hh for hh in alert_of for text in texts if address(int(hh[1:])) in text)
        t.delivered["SMS"] = len(per)
        t.dup_alerts["SMS"] = sum(n - 1 for n in per.values() if n > 1)
