"""The ingest worker: broker messages → pipeline → commit → acknowledgement, and MQTT acks.

The MQTT session hands every message to :meth:`Ingest.on_message`, which sorts it into a lane
(:mod:`gateway.ingest.lanes`); the ``gateway.ingest`` task takes batches, critical first, has
the pipeline decide and commit them, and only then acknowledges them to the broker.

Whatever one message holds, it ends stored or set aside, and it never holds up another:
- a database that is *unavailable* (locked, disk full, down) is not a bad message: nothing is
  acknowledged, the batch waits and is tried again as it is, and ``/healthz`` says so;
- a batch the database *refuses* because of a row (an integrity or data error), or that a rule
  fails on, is split in halves until the one message is found; the rest commits, and that one is
  kept in the rejected list with the reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa

from devices.events import MAX_PAYLOAD, Rejected
from gateway import metrics
from gateway.alerting.desk import AlertError
from gateway.alerting.operations import AlertOps
from gateway.backoff import full_jitter
from gateway.clock import Clock
from gateway.health import Health
from gateway.ingest.acks import Ack, Refused, parse_ack
from gateway.ingest.arrival import Arrival, excerpt, rejected_record
from gateway.ingest.lanes import Lanes, Sorter
from gateway.ingest.mqtt import Inbound, MqttSession
from gateway.ingest.pipeline import Pipeline
from gateway.notify.outbox import Outbox
from gateway.store import Store
from gateway.store.records import OutboxItem, Writes

log = logging.getLogger("isogate.ingest")

BATCH_MAX = 1000
LANE_MESSAGES = 50_000  # received, not yet acknowledged; above the broker's in-flight window
LANE_BYTES = 32 * 1024 * 1024  # their payloads


def is_outage(exc: BaseException) -> bool:
    """Whether a failure is the database being unavailable rather than refusing a row."""
    if isinstance(exc, sa.exc.IntegrityError | sa.exc.DataError):
        return False
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa.exc.DBAPIError) and _transient_state(exc.orig):
        return True
    return isinstance(
        exc,
        sa.exc.OperationalError
        | sa.exc.InterfaceError
        | sa.exc.DisconnectionError
        | sa.exc.TimeoutError
        | OSError
        | TimeoutError,
    )


# SQLSTATE classes of a server that cannot take the step now but will: connection exceptions,
# a rolled-back transaction (serialization, deadlock), insufficient resources (disk full, too
# many connections), operator intervention (shutting down, starting up) and system errors.
# asyncpg's PostgreSQL errors reach here as a plain DBAPIError, so the class is read off them.
TRANSIENT_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")


def _transient_state(orig: BaseException | None) -> bool:
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return isinstance(state, str) and state[:2] in TRANSIENT_SQLSTATE_CLASSES


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


class Ingest:
    """Takes what the broker delivers and sees it committed, then acknowledged."""

    def __init__(
        self,
        *,
        base_topic: str,
        clock: Clock,
        store: Store,
        pipeline: Pipeline,
        ops: AlertOps,
        outbox: Outbox,
        health: Health,
        session: MqttSession,
        stall_s: float = 60.0,
        max_payload: int = MAX_PAYLOAD,
    ) -> None:
        self.clock = clock
        self.store = store
        self.pipeline = pipeline
        self.ops = ops
        self.outbox = outbox
        self.health = health
        self.session = session
        self.stall_s = stall_s
        self.max_payload = max_payload
        self.ack_prefix = f"{base_topic}/ack/"
        loop = asyncio.get_running_loop()
        self._time = loop.time
        self.lanes = Lanes(
            max_messages=LANE_MESSAGES,
            max_bytes=LANE_BYTES,
            pause=session.pause_reading,
            resume=session.resume_reading,
            now=loop.time,
        )
        self._busy_since: float | None = None
        self._sorter = Sorter(self.ack_prefix, base_topic, pipeline.router.z2m_base)
        self._frames: Callable[[str, bytes, datetime], None] | None = None
        self.frame_prefix = f"{base_topic}/cam/"
        health.probe("ingest", self._stalled)
        session.listen(self.subscriptions(), self.on_message)

    def take_frames(self, handler: Callable[[str, bytes, datetime], None]) -> None:
        """Hand camera frames (``<base>/cam/+/frame``, at QoS 0) to ``handler``, not the lanes.

        Frames are analysed as they come and never stored; what the analysis finds comes back
        through :meth:`process_local`.
        """
        self._frames = handler
        lossy = [f"{self.frame_prefix}+/frame"]
        self.session.listen(self.subscriptions(), self.on_message, lossy=lossy)

    def subscriptions(self) -> list[str]:
        """The topics to subscribe to: the devices' and the acknowledgements'.

        The ack topics are ``<base>/ack/<person_id>/<alert_id>``; the old ``<base>/ack/<alert_id>``
        is listened to as well, so that a phone still using it is told why it is refused.
        """
        acks = [f"{self.ack_prefix}+", f"{self.ack_prefix}+/+"]
        return [*self.pipeline.router.subscriptions(), *acks]

    # --- receiving ----------------------------------------------------------------------------

    def on_message(self, message: Inbound) -> None:
        """The session's callback for each message received: into its lane, at once."""
        if self._frames is not None and self._is_frame(message.topic):
            self._frames(message.topic, message.payload, message.received_at)
            return
        if len(message.payload) > self.max_payload:
            # Keep an excerpt for the rejected list, not megabytes in the queue.
            size = len(message.payload)
            message = replace(message, payload=bytes(message.payload[:1024]), size=size)
        self.lanes.put(self._sorter.lane(message.topic, self.pipeline.directory), message)

    def _is_frame(self, topic: str) -> bool:
        prefix = self.frame_prefix
        return (
            topic.startswith(prefix)
            and topic.endswith("/frame")
            and topic.count("/") == (prefix.count("/") + 1)
        )

    # --- the task -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Take batches from the broker forever (the gateway.ingest task)."""
        while True:
            _lane, batch, oldest = await self.lanes.take(BATCH_MAX)
            self._busy_since = oldest
            try:
                await self._handle(batch)
            finally:
                self._busy_since = None
            # A batch may run start to end without waiting on anything (the SQLite writer
            # commits on this thread): let the broker's socket be read between batches, or a
            # door opening behind a backlog would wait for all of it instead of the next batch.
            # (With nothing queued, ``take`` waits anyway: no extra turn of the loop.)
            if len(self.lanes):
                await asyncio.sleep(0)

    async def _handle(self, batch: list[Inbound]) -> None:
        acks: list[Inbound] = []
        arrivals: list[Arrival] = []
        prefix = self.ack_prefix
        for m in batch:
            if m.topic.startswith(prefix):
                acks.append(m)
            else:
                arrivals.append(self._arrival(m))
        fresh: list[OutboxItem] = []
        if arrivals:
            with metrics.BATCH_SECONDS.time():
                fresh = await self._settle(arrivals)
        for m in acks:
            await self._settle_ack(m)
        self.session.ack_all(batch)
        self.outbox.wake(fresh)

    def _arrival(self, m: Inbound) -> Arrival:
        arrival = Arrival("mqtt", m.topic, m.payload, m.received_at, m.dup, mid=m.mid)
        if m.size is not None:
            reason = f"payload of {m.size} bytes is over the {self.max_payload}-byte limit"
            return replace(arrival, decoded=Rejected(reason))
        return arrival

    async def process_serial(self, arrival: Arrival) -> None:
        """One arrival from a serial receiver (no broker to acknowledge)."""
        await self.process_local([arrival])

    async def process_local(self, arrivals: list[Arrival]) -> None:
        """Arrivals from a link of the gateway's own (serial, camera analysis): committed,
        waiting out a database outage; nothing to acknowledge."""
        self.outbox.wake(await self._settle(arrivals))

    async def _settle(self, arrivals: list[Arrival]) -> list[OutboxItem]:
        """Commit a batch; split it around a message the database refuses; wait out outages."""
        attempt = 0
        while True:
            try:
                fresh = await self.pipeline.process(arrivals)
            except Exception as exc:
                if is_outage(exc):
                    attempt += 1
                    await self._outage(exc, attempt, len(arrivals))
                    continue
                metrics.COMMIT_FAILURES.labels("row").inc()
                if len(arrivals) == 1:
                    return await self._set_aside(arrivals[0], exc)
                half = len(arrivals) // 2
                return await self._settle(arrivals[:half]) + await self._settle(arrivals[half:])
            self.health.up("database")
            return fresh

    async def _outage(self, exc: BaseException, attempt: int, n: int) -> None:
        metrics.COMMIT_FAILURES.labels("outage").inc()
        reason = _first_line(exc)
        self.health.down("database", reason)
        if attempt == 1:
            log.error("database unavailable; %d messages wait unacknowledged: %s", n, reason)
        await self.clock.sleep(full_jitter(attempt, 0.2, 5.0))

    async def _set_aside(self, arrival: Arrival, exc: BaseException) -> list[OutboxItem]:
        """Keep a message nothing could be made of in the rejected list, with the reason."""
        log.warning("message on %.200s set aside: %s", arrival.topic, _first_line(exc))
        reason = f"could not be stored: {_first_line(exc)}"
        await self._commit_alone(Writes(rejected=[rejected_record(arrival, reason)]))
        return []

    async def _commit_alone(self, w: Writes) -> None:
        attempt = 0
        while True:
            try:
                await self.store.commit(w)
                return
            except Exception as exc:
                if not is_outage(exc) and attempt >= 3:
                    log.exception("could not keep a rejected record; dropping it")
                    return
                attempt += 1
                await self._outage(exc, attempt, 1)

    async def _settle_ack(self, m: Inbound) -> None:
        """An acknowledgement from a police app: applied, or refused into the rejected list.

        The topic names the person (the broker's ACL lets only them publish there); the alert
        desk takes it only from a person the alert was sent to or an escalation reached.
        """
        if m.size is not None:
            parsed: Ack | Refused = Refused(
                f"ack refused: payload of {m.size} bytes is over the {self.max_payload}-byte limit"
            )
        else:
            parsed = parse_ack(m.topic, m.payload, self.ack_prefix)
        attempt = 0
        while isinstance(parsed, Ack):
            try:
                await self.ops.ack(
                    parsed.alert_id,
                    parsed.person_id,
                    note=parsed.note,
                    via="mqtt",
                    recipient_only=True,
                    role=self._role_of(parsed.person_id),
                )
                metrics.MESSAGES.labels("ack").inc()
                return
            except AlertError as exc:
                parsed = Refused(f"ack by {parsed.person_id} refused: {exc}")
            except Exception as exc:
                if is_outage(exc):
                    attempt += 1
                    await self._outage(exc, attempt, 1)
                    continue
                parsed = Refused(f"ack could not be applied: {_first_line(exc)}")
        arrival = Arrival("mqtt", m.topic, m.payload, m.received_at)
        await self._commit_alone(Writes(rejected=[rejected_record(arrival, parsed.reason)]))
        metrics.MESSAGES.labels("rejected").inc()

    def _role_of(self, person_id: str) -> str:
        """A staff member's role, for the audit log ("" for a name the site does not know)."""
        staff = self.ops.desk.directory.staff.get(person_id)
        return staff.role.value if staff else ""

    # --- health -------------------------------------------------------------------------------

    def _stalled(self) -> str | None:
        """None while ingest keeps up; else how long the oldest message has waited."""
        heads = [t for t in (self._busy_since, self.lanes.oldest()) if t is not None]
        age = self._time() - min(heads) if heads else 0.0
        metrics.INGEST_OLDEST_S.set(age)
        if age > self.stall_s:
            return f"the oldest unacknowledged message has waited {age:.0f} s"
        return None


__all__ = ["BATCH_MAX", "Ingest", "excerpt", "is_outage"]
