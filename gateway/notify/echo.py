"""The broker's echo of the gateway's own MQTT notices: what it accepted is not sent again.

A QoS 1 publish the broker acknowledged, made just before a SIGKILL, is still "pending" in the
outbox table (deliveries are written down in batches): a restart would publish it once more, a
second copy on the same topic. The PUBACK cannot close that window, since it always comes before
the write. The broker itself can: it keeps, for a subscriber with a persistent session, every
message it accepted and has not seen acknowledged.

So a second session (client id ``<client_id>-echo``, clean session off, QoS 1) subscribes to the
topics the gateway publishes notices on (``<base>/alerts/#``, ``<base>/handover/#``). Each copy
the broker echoes back marks the pending outbox row with the same topic and body delivered (the
body's ``id`` is the row's ``alert_id``: the lookup uses that index, the payloads stay as they
are). An echo is acknowledged to the broker only once that row is written down as delivered:
killed before, the broker sends the echo again to the next process.

After a start, no MQTT notice goes out before the echo session has drained what the broker
queued for it: it publishes a sentinel of its own on ``<base>/gateway/echo/<client_id>`` and
waits for it. The broker queues a subscriber's messages in the order it accepted them, so by
the sentinel's arrival every echo of a publish accepted before the kill has been matched.

Never a loss: when no sentinel comes back (the ACL refuses the subscription, the broker drops
it) within ``DRAIN_WAIT_S`` of the broker being reachable, MQTT notices go out anyway, at least
once, and a duplicate of what the previous process published last remains possible.

A copy may still go out twice when:

- the broker loses the echo queue (a crash since its last save of persistence) while the gateway
  is killed too;
- the broker does not deliver in order what it sent the dead session and what came later: NATS
  sends an unacknowledged message again only after its ``ack_wait`` (5 s in our node configs),
  so an echo in flight to the killed process can come after the sentinel;
- paho publishes again after a lost connection a message the broker had taken (QoS 1 between
  the gateway and the broker: the broker passes both on);
- the broker echoes nothing (above).

Memory: echoes waiting to be matched or acknowledged are at most ``HELD_MAX`` (with their
payloads until matched, a few MB); past that the session stops reading, and the broker holds the
rest. This run's publishes awaiting their echo are remembered by a 16-byte digest, at most
``EXPECT_MAX`` (a few MB; an echo of one forgotten is looked up in the table instead). The
sentinel tokens of one start are forgotten once one comes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from gateway.clock import Clock
from gateway.ingest.mqtt import Inbound, MqttSession
from gateway.store.records import OutboxItem

log = logging.getLogger("isogate.echo")

ECHO_SUFFIX = "-echo"
DRAIN_WAIT_S = 10.0  # of a reachable broker without the sentinel: then send anyway
SENTINEL_EVERY_S = 2.0
BATCH = 500  # echoes matched with one query
HELD_MAX = 5000  # echoes received and not yet acknowledged; past it, stop reading
EXPECT_MAX = 20_000  # this run's publishes awaiting their echo (by digest), oldest forgotten


class Confirms(Protocol):
    """The outbox, as the echo sees it."""

    def hold_mqtt(self, ready: asyncio.Event, expect: Callable[[OutboxItem], None]) -> None:
        """Send no MQTT notice until ``ready`` is set; tell ``expect`` each one before it goes."""

    def confirmed(self, ours: list[int], earlier: list[int], then: Callable[[], None]) -> None:
        """Mark this run's and earlier runs' ids delivered; ``then`` once written down."""


class Lookup(Protocol):
    """The store, as the echo sees it."""

    async def outbox_pending_mqtt(self, alert_ids: set[str]) -> list[tuple[int, str, str, str]]:
        """Pending MQTT rows of these alerts: ``(id, alert_id, target, body)``, by id."""
        ...


def sentinel_topic(base_topic: str, client_id: str) -> str:
    """The topic the echo session sends its own sentinel on."""
    return f"{base_topic}/gateway/echo/{client_id}"


def echo_topics(base_topic: str) -> list[str]:
    """The topics the gateway publishes MQTT notices on, as subscriptions."""
    return [f"{base_topic}/alerts/#", f"{base_topic}/handover/#"]


class AlertEcho:
    """The echo session and its matcher; an async context manager around the session."""

    def __init__(
        self,
        url: str,
        client_id: str,
        *,
        clock: Clock,
        base_topic: str,
        store: Lookup,
        broker_up: Callable[[], bool],
    ) -> None:
        self.sentinel = sentinel_topic(base_topic, client_id)
        self.session = MqttSession(
            url,
            client_id + ECHO_SUFFIX,
            clock=clock,
            subscriptions=[*echo_topics(base_topic), self.sentinel],
            on_message=self._arrived,
            gauged=False,
        )
        self.ready = asyncio.Event()
        self.store = store
        self._broker_up = broker_up
        self._outbox: Confirms | None = None
        self._incoming: deque[Inbound] = deque()
        self._arrival = asyncio.Event()
        self._held = 0  # received, not yet acknowledged
        self._paused = False
        self._tokens: set[str] = set()
        self._expected: dict[bytes, list[int]] = {}

    def attach(self, outbox: Confirms) -> None:
        """Hold ``outbox``'s MQTT notices until drained, and tell it what the broker echoed."""
        self._outbox = outbox
        outbox.hold_mqtt(self.ready, self.expect)

    def expect(self, item: OutboxItem) -> None:
        """``item`` is about to be published: its echo needs no lookup in the table."""
        assert item.id is not None
        key = _digest(item.target, item.body.encode())
        ids = self._expected.setdefault(key, [])
        if item.id not in ids:
            ids.append(item.id)
        while len(self._expected) > EXPECT_MAX:
            del self._expected[next(iter(self._expected))]

    async def __aenter__(self) -> AlertEcho:
        await self.session.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.__aexit__(*exc)

    async def run(self) -> None:
        """Stay connected, match echoes, and drain once after the start; until cancelled."""
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self.session.run(), name="echo.session")
            tg.create_task(self._match(), name="echo.match")
            if not self.ready.is_set():
                tg.create_task(self._drain(), name="echo.drain")

    # --- the drain after a start --------------------------------------------------------------

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        waited = 0.0  # seconds of a reachable broker without the sentinel
        while not self.ready.is_set():
            start = loop.time()
            connected = self.session.connected
            if connected:
                token = secrets.token_hex(8)
                self._tokens.add(token)
                fut = self.session.publish_nowait(self.sentinel, token.encode(), qos=1)
                fut.add_done_callback(_quiet)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SENTINEL_EVERY_S if connected else 0.1):
                    await self.ready.wait()
            if self.ready.is_set():
                return
            if self._broker_up():
                waited += loop.time() - start
            if waited >= DRAIN_WAIT_S:
                log.warning(
                    "the broker echoed no sentinel on %s within %.0f s: MQTT notices go out "
                    "unchecked (one the previous run published last may go out twice)",
                    self.sentinel,
                    DRAIN_WAIT_S,
                )
                self.ready.set()

    # --- echoes -------------------------------------------------------------------------------

    def _arrived(self, m: Inbound) -> None:
        self._incoming.append(m)
        self._held += 1
        if self._held >= HELD_MAX and not self._paused:
            self._paused = True
            self.session.pause_reading()
        self._arrival.set()

    async def _match(self) -> None:
        while True:
            await self._arrival.wait()
            self._arrival.clear()
            while self._incoming:
                batch = [self._incoming.popleft() for _ in range(min(BATCH, len(self._incoming)))]
                try:
                    await self._settle(batch)
                except Exception:
                    log.exception("could not match %d echoes; will try again", len(batch))
                    self._incoming.extendleft(reversed(batch))
                    await asyncio.sleep(1.0)

    async def _settle(self, batch: list[Inbound]) -> None:
        """Confirm the rows ``batch`` echoes; acknowledge it once they are written down."""
        keys: list[tuple[str, str, str]] = []
        ours: list[int] = []  # published by this run: no need to look them up
        earlier: list[int] = []
        drained = False
        for m in batch:
            if m.topic == self.sentinel:
                drained = drained or m.payload.decode(errors="replace") in self._tokens
                continue
            digest = _digest(m.topic, m.payload)
            known = self._expected.get(digest)
            if known:
                ours.append(known.pop(0))
                if not known:
                    del self._expected[digest]
                continue
            try:
                body = m.payload.decode()
                alert_id = json.loads(body)["id"]
            except (ValueError, TypeError, KeyError):
                continue  # not one of ours
            if isinstance(alert_id, str):
                keys.append((alert_id, m.topic, body))
        if keys:
            rows = await self.store.outbox_pending_mqtt({k[0] for k in keys})
            pool: dict[tuple[str, str, str], deque[int]] = {}
            for row_id, alert_id, target, body in rows:
                pool.setdefault((alert_id, target, body), deque()).append(row_id)
            for key in keys:
                found = pool.get(key)
                if found:
                    earlier.append(found.popleft())  # one row per copy the broker accepted
        # The payloads are matched: only what the acknowledgement needs is kept.
        acks = [replace(m, payload=b"") for m in batch]
        assert self._outbox is not None
        self._outbox.confirmed(ours, earlier, lambda: self._acknowledge(acks))
        if drained and not self.ready.is_set():
            log.info("echo session drained; MQTT notices go out")
            self.ready.set()
            self._tokens.clear()

    def _acknowledge(self, acks: list[Inbound]) -> None:
        self.session.ack_all(acks)
        self._held -= len(acks)
        if self._paused and self._held < HELD_MAX // 2:
            self._paused = False
            self.session.resume_reading()


def _digest(topic: str, payload: bytes) -> bytes:
    """What an echo is recognised by: its topic and payload (16 bytes of BLAKE2b)."""
    h = hashlib.blake2b(topic.encode(), digest_size=16)
    h.update(b"\0")
    h.update(payload)
    return h.digest()


def _quiet(fut: asyncio.Future[None]) -> None:
    """A sentinel's PUBACK matters to nobody; its failure is not an error to report."""
    if not fut.cancelled():
        fut.exception()
