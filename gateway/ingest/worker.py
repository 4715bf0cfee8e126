"""The ingest worker: broker messages → pipeline → commit → acknowledgement, and MQTT acks.

The MQTT session hands every message to :meth:`Ingest.on_message`; the ``gateway.ingest`` task
takes them in batches, has the pipeline decide and commit them, and only then acknowledges
them to the broker.
"""

from __future__ import annotations

import asyncio
import json
import logging

from gateway import metrics
from gateway.alerting.desk import AlertError
from gateway.alerting.operations import AlertOps
from gateway.clock import Clock
from gateway.ingest.mqtt import Inbound, MqttSession
from gateway.ingest.pipeline import Arrival, Pipeline, excerpt
from gateway.notify.outbox import Outbox
from gateway.store import Store
from gateway.store.records import OutboxItem, RejectedRecord, Writes

log = logging.getLogger("isogate.ingest")

BATCH_MAX = 1000


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
    ) -> None:
        self.clock = clock
        self.store = store
        self.pipeline = pipeline
        self.ops = ops
        self.outbox = outbox
        self.ack_prefix = f"{base_topic}/ack/"
        self._queue: asyncio.Queue[Inbound] = asyncio.Queue()

    def subscriptions(self) -> list[str]:
        """The topics to subscribe to: the devices' and the acknowledgements'."""
        return [*self.pipeline.router.subscriptions(), f"{self.ack_prefix}+"]

    def on_message(self, message: Inbound) -> None:
        """The session's callback for each message received."""
        self._queue.put_nowait(message)

    async def run(self, session: MqttSession) -> None:
        """Take batches from the broker forever (the gateway.ingest task)."""
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty() and len(batch) < BATCH_MAX:
                batch.append(self._queue.get_nowait())
            acks = [m for m in batch if m.topic.startswith(self.ack_prefix)]
            arrivals = [
                Arrival("mqtt", m.topic, m.payload, m.received_at, m.dup)
                for m in batch
                if not m.topic.startswith(self.ack_prefix)
            ]
            attempt = 0
            fresh: list[OutboxItem] = []
            while True:
                try:
                    with metrics.BATCH_SECONDS.time():
                        if arrivals:
                            fresh = await self.pipeline.process(arrivals)
                        for m in acks:
                            await self._ack_message(m)
                    break
                except Exception:
                    # Not acknowledged: the broker keeps the messages; try the batch again.
                    attempt += 1
                    log.exception(
                        "could not store a batch of %d messages (try %d)", len(batch), attempt
                    )
                    await self.clock.sleep(min(30.0, 0.5 * 2**attempt))
            for m in batch:
                session.ack(m)
            self.outbox.wake(fresh)

    async def process_serial(self, arrival: Arrival) -> None:
        """One arrival from a serial receiver (no broker to acknowledge)."""
        self.outbox.wake(await self.pipeline.process([arrival]))

    async def _ack_message(self, m: Inbound) -> None:
        alert_id = m.topic[len(self.ack_prefix) :]
        try:
            body = json.loads(m.payload.decode("utf-8") or "{}")
            by = body.get("by") if isinstance(body, dict) else None
            if not isinstance(by, str) or not by:
                raise ValueError('ack payload must be {"by": "<person id>"}')
            if by not in self.pipeline.directory.staff:
                raise ValueError(f"{by!r} is not on the site's staff")
            await self.ops.ack(alert_id, by)
        except (ValueError, UnicodeDecodeError, AlertError) as exc:
            w = Writes(
                rejected=[
                    RejectedRecord(
                        m.received_at, "mqtt", m.topic, f"ack refused: {exc}", excerpt(m.payload)
                    )
                ]
            )
            await self.store.commit(w)
