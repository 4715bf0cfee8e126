"""The gateway's lifetime: one TaskGroup of named tasks, started in order, cancelled together.

Tasks: ``gateway.ingest`` (broker messages → pipeline → ack), ``gateway.notify.outbox`` (delivery),
``gateway.tick`` (time-driven rules), ``gateway.site`` (live reload of the site),
``gateway.http`` (API). Shutdown is cancellation of the group, awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn

from api.app import ApiContext, create_app
from devices.router import Router
from gateway import metrics
from gateway.alerting.desk import AlertDesk, AlertError
from gateway.alerting.operations import AlertOps
from gateway.clock import Clock
from gateway.ingest.mqtt import Inbound, MqttSession
from gateway.ingest.pipeline import Arrival, Pipeline, excerpt
from gateway.ingest.radio import run_receiver
from gateway.notify.delivery import Deliveries
from gateway.notify.outbox import Outbox
from gateway.site.stored import current_directory
from gateway.store import Store
from gateway.store.records import OutboxItem, RejectedRecord, Writes
from isogate.settings import Settings

log = logging.getLogger("isogate.gateway")

BATCH_MAX = 1000


@dataclass
class Running:
    """Handles on a running gateway, for the CLI, the demo and tests."""

    settings: Settings
    store: Store
    session: MqttSession
    pipeline: Pipeline
    ops: AlertOps
    outbox: Outbox
    http_port: int | None = None


class _Server(uvicorn.Server):
    """uvicorn inside our TaskGroup: the gateway, not uvicorn, owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Gateway:
    """Builds the parts from settings and runs them."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.router = Router(settings.base_topic, settings.z2m_base_topic, settings.omg_base_topic)
        self._queue: asyncio.Queue[Inbound] = asyncio.Queue()
        self.ack_prefix = f"{settings.base_topic}/ack/"

    async def run(self, on_ready: Callable[[Running], None] | None = None) -> None:
        """Run until cancelled."""
        s = self.settings
        async with Store.open(s.db_url) as store:
            revision, directory = await current_directory(store)
            desk = AlertDesk(directory, s.base_topic, s.link)
            pipeline = Pipeline(store, desk, directory, self.router, self.clock)
            await pipeline.restore()
            session = MqttSession(
                s.mqtt_url,
                s.client_id,
                clock=self.clock,
                subscriptions=[*self.router.subscriptions(), f"{self.ack_prefix}+"],
                on_message=self._queue.put_nowait,
            )
            deliveries = Deliveries(
                self.clock,
                session,
                lambda: pipeline.directory,
                link_base=s.link(""),
                modem_port=s.modem_port,
                modem_baud=s.modem_baud,
            )
            outbox = Outbox(
                store,
                desk,
                self.clock,
                deliveries.sender,
                retry_base_s=s.retry_base_s,
                retry_cap_s=s.retry_cap_s,
            )
            ops = AlertOps(store, desk, self.clock, outbox.wake)
            running = Running(s, store, session, pipeline, ops, outbox)
            async with session, deliveries, asyncio.TaskGroup() as tg:
                server = self._http(running)
                tg.create_task(self._ingest(running), name="gateway.ingest")
                tg.create_task(outbox.run(), name="gateway.outbox")
                tg.create_task(self._tick(running), name="gateway.tick")
                tg.create_task(self._site(running, revision), name="gateway.site")
                tg.create_task(self._serve(server), name="gateway.http")
                if s.rflink_port:
                    tg.create_task(self._rflink(running), name="gateway.rflink")
                await session.wait_connected(timeout=None)
                while not server.started:
                    await asyncio.sleep(0.01)
                running.http_port = server.servers[0].sockets[0].getsockname()[1]
                log.info(
                    "gateway up: broker %s, API http://%s:%s",
                    s.mqtt_url,
                    s.http_host,
                    running.http_port,
                )
                metrics.BROKER_UP.set(1)
                if on_ready is not None:
                    on_ready(running)

    def _http(self, running: Running) -> _Server:
        ctx = ApiContext(
            running.store, running.pipeline.desk, running.ops, lambda: running.session.connected
        )
        config = uvicorn.Config(
            create_app(ctx),
            host=self.settings.http_host,
            port=self.settings.http_port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=5,  # a console left open must not hold a shutdown
        )
        return _Server(config)

    @staticmethod
    async def _serve(server: _Server) -> None:
        inner = asyncio.create_task(server.serve(), name="gateway.http.serve")
        try:
            await asyncio.shield(inner)
        except asyncio.CancelledError:
            server.should_exit = True
            await inner
            raise

    async def _ingest(self, r: Running) -> None:
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
                            fresh = await r.pipeline.process(arrivals)
                        for m in acks:
                            await self._ack_message(r, m)
                    break
                except Exception:
                    # Not acknowledged: the broker keeps the messages; try the batch again.
                    attempt += 1
                    log.exception(
                        "could not store a batch of %d messages (try %d)", len(batch), attempt
                    )
                    await self.clock.sleep(min(30.0, 0.5 * 2**attempt))
            for m in batch:
                r.session.ack(m)
            r.outbox.wake(fresh)

    async def _rflink(self, r: Running) -> None:
        assert self.settings.rflink_port is not None

        async def process(arrival: Arrival) -> None:
            r.outbox.wake(await r.pipeline.process([arrival]))

        await run_receiver(
            self.settings.rflink_port,
            self.settings.rflink_baud,
            self.clock.now,
            lambda: r.pipeline.directory,
            process,
        )

    async def _ack_message(self, r: Running, m: Inbound) -> None:
        alert_id = m.topic[len(self.ack_prefix) :]
        try:
            body = json.loads(m.payload.decode("utf-8") or "{}")
            by = body.get("by") if isinstance(body, dict) else None
            if not isinstance(by, str) or not by:
                raise ValueError('ack payload must be {"by": "<person id>"}')
            if by not in r.pipeline.directory.staff:
                raise ValueError(f"{by!r} is not on the site's staff")
            await r.ops.ack(alert_id, by)
        except (ValueError, UnicodeDecodeError, AlertError) as exc:
            w = Writes(
                rejected=[
                    RejectedRecord(
                        m.received_at, "mqtt", m.topic, f"ack refused: {exc}", excerpt(m.payload)
                    )
                ]
            )
            await r.store.commit(w)

    async def _tick(self, r: Running) -> None:
        prune_every = 600
        n = 0
        tick_at = self.clock.now()
        while True:
            # Sleep until a tick after the last one; if the clock moved on meanwhile (a slow
            # tick, a suspended machine, a test's fake clock), tick at once.
            delay = (tick_at - self.clock.now()).total_seconds() + self.settings.tick_s
            if delay > 0:
                await self.clock.sleep(delay)
            tick_at = self.clock.now()
            try:
                fresh = await r.pipeline.tick()
                if fresh:
                    r.outbox.wake(fresh)
                n += 1
                if n % prune_every == 0:
                    await r.store.prune()
            except Exception:
                log.exception("tick failed")

    async def _site(self, r: Running, revision: int) -> None:
        while True:
            await asyncio.sleep(self.settings.site_poll_s)
            try:
                latest = await r.store.site_revision()
                if latest == revision:
                    continue
                revision, directory = await current_directory(r.store)
                async with r.pipeline.desk.lock:
                    r.pipeline.use_directory(directory)
                log.info(
                    "site revision %d loaded: %d households", revision, len(directory.households)
                )
            except Exception:
                log.exception("could not reload the site; keeping revision %d", revision)
