"""The gateway's lifetime: one TaskGroup of named tasks, started in order, cancelled together.

Tasks: ``gateway.ingest`` (broker messages → pipeline → ack), ``gateway.notify.outbox`` (delivery),
``gateway.tick`` (time-driven rules), ``gateway.site`` (live reload of the site),
``gateway.http`` (API). Shutdown is cancellation of the group, awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import uvicorn

from api.app import ApiContext, create_app
from devices.router import Router
from gateway.alerting.desk import AlertDesk
from gateway.alerting.operations import AlertOps
from gateway.clock import Clock
from gateway.health import Health
from gateway.ingest.mqtt import MqttSession
from gateway.ingest.pipeline import Pipeline
from gateway.ingest.radio import run_receiver
from gateway.ingest.worker import Ingest
from gateway.notify.delivery import Deliveries
from gateway.notify.outbox import Outbox
from gateway.site.stored import current_directory
from gateway.store import Store
from isogate.settings import Settings

log = logging.getLogger("isogate.gateway")


@dataclass
class Running:
    """Handles on a running gateway, for the CLI, the demo and tests."""

    settings: Settings
    store: Store
    session: MqttSession
    pipeline: Pipeline
    ops: AlertOps
    outbox: Outbox
    ingest: Ingest
    health: Health
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

    async def run(self, on_ready: Callable[[Running], None] | None = None) -> None:
        """Run until cancelled."""
        s = self.settings
        async with Store.open(s.db_url) as store:
            revision, directory = await current_directory(store)
            health = Health(self.clock.now)
            desk = AlertDesk(directory, s.base_topic, s.link)
            pipeline = Pipeline(store, desk, directory, self.router, self.clock)
            await pipeline.restore()
            session = MqttSession(s.mqtt_url, s.client_id, clock=self.clock)
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
            ingest = Ingest(
                base_topic=s.base_topic,
                clock=self.clock,
                store=store,
                pipeline=pipeline,
                ops=ops,
                outbox=outbox,
                health=health,
                session=session,
            )
            running = Running(s, store, session, pipeline, ops, outbox, ingest, health)
            async with session, deliveries, asyncio.TaskGroup() as tg:
                server = self._http(running)
                tg.create_task(session.run(), name="gateway.mqtt")
                tg.create_task(ingest.run(), name="gateway.ingest")
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
                if on_ready is not None:
                    on_ready(running)

    def _http(self, running: Running) -> _Server:
        ctx = ApiContext(
            running.store,
            running.pipeline.desk,
            running.ops,
            lambda: running.session.connected,
            running.health,
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

    async def _rflink(self, r: Running) -> None:
        assert self.settings.rflink_port is not None
        await run_receiver(
            self.settings.rflink_port,
            self.settings.rflink_baud,
            self.clock.now,
            lambda: r.pipeline.directory,
            r.ingest.process_serial,
        )

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
