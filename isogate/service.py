"""The gateway's lifetime: one TaskGroup of named tasks, started in order, cancelled together.

Tasks: ``gateway.ingest`` (broker messages → pipeline → ack), ``gateway.outbox`` (delivery),
``gateway.tick`` (time-driven rules), ``gateway.site`` (live reload of the site),
``gateway.http`` (API), ``gateway.rflink`` (433 MHz receiver), ``gateway.archive`` (once at
start: release reports still unarchived), ``gateway.daily`` (the daily report at its time, then
the retention purge). Each runs under a supervisor
(``gateway.supervise``): a fault is logged, counted and the task restarted, while the others go
on; its health part ``task:<name>`` is down meanwhile. Shutdown is cancellation of the group,
awaited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import uvicorn

from api.app import ApiContext, create_app
from devices.router import Router
from gateway import heap
from gateway.alerting.desk import AlertDesk
from gateway.alerting.operations import AlertOps
from gateway.bus import AlertChanged, EventStored
from gateway.camera.captures import EVIDENCE_TYPES, Captures
from gateway.camera.evidence import EvidenceStore
from gateway.camera.hub import CameraHub
from gateway.camera.pulled import run_pulled
from gateway.care.archive import archive_pending, archive_release
from gateway.care.daily_job import DailyReporter
from gateway.care.desk import CareDesk
from gateway.care.documents import Documents
from gateway.clock import Clock
from gateway.cluster.lease import EXIT_LEASE_LOST, Lease
from gateway.health import Health
from gateway.ingest.mqtt import MqttSession
from gateway.ingest.pipeline import Pipeline
from gateway.ingest.radio import run_receiver
from gateway.ingest.worker import Ingest, is_outage
from gateway.links import KEY_FILE, LinkSigner, expires_at, load_key
from gateway.notify.delivery import Deliveries
from gateway.notify.echo import AlertEcho
from gateway.notify.outbox import Outbox
from gateway.site.stored import current_directory
from gateway.store import Store
from gateway.supervise import supervise
from isogate.http import QuietServer as _Server
from isogate.http import serve
from isogate.pair import guarded, run_paired
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
    cameras: CameraHub
    evidence: EvidenceStore
    site_revision: int = 0
    http_port: int | None = None
    links: LinkSigner | None = None
    care: CareDesk | None = None
    documents: Documents | None = None
    daily: DailyReporter | None = None
    lease: Lease | None = None


class Gateway:
    """Builds the parts from settings and runs them."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        *,
        exit_on_lost: bool = False,
        settle_heap: bool = False,
    ) -> None:
        """``exit_on_lost``: ``isogate run``, a lost lease ends the process at once.
        ``settle_heap``: once built, keep what start-up made out of the garbage collector's
        way (``gateway.heap``; for a gateway that has the process to itself)."""
        self.settings = settings
        self.clock = clock
        self.exit_on_lost = exit_on_lost
        self.settle_heap = settle_heap
        self.router = Router(
            settings.base_topic,
            settings.z2m_base_topic,
            settings.omg_base_topic,
            frigate_base=settings.frigate_base_topic,
        )

    async def run(self, on_ready: Callable[[Running], None] | None = None) -> None:
        """Run until cancelled; one of a pair (``ha``) first stands by for the lease.

        Raises:
            LeaseLostError: (``ha``) the lease was lost and the gateway stopped.
        """
        if not self.settings.ha:
            await self._run(on_ready, None)
            return
        await run_paired(self.settings, lambda lease: self._run(on_ready, lease))

    async def _run(self, on_ready: Callable[[Running], None] | None, lease: Lease | None) -> None:
        s = self.settings
        async with Store.open(s.db_url) as store:
            store.fence = lease.fence if lease is not None else None
            revision, directory = await current_directory(store)
            health = Health(self.clock.now)
            desk = AlertDesk(directory, s.base_topic, s.link)
            signer = LinkSigner(load_key(s.data_dir.resolve() / KEY_FILE))
            desk.signed = lambda path, now: signer.sign(path, expires_at(now, s.link_hours))
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
                deliveries.sender if lease is None else guarded(lease, deliveries.sender),
                retry_base_s=s.retry_base_s,
                retry_cap_s=s.retry_cap_s,
            )
            echo = AlertEcho(
                s.mqtt_url,
                s.client_id,
                clock=self.clock,
                base_topic=s.base_topic,
                store=store,
                broker_up=lambda: session.connected,
            )
            echo.attach(outbox)
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
            evidence = EvidenceStore(s.data_dir.resolve() / "evidence", clock=self.clock)
            hub = CameraHub(
                lambda: pipeline.directory,
                ingest.process_local,
                Captures(
                    evidence, lambda: pipeline.directory, lambda c: hub.preroll(c), self.clock
                ),
                self.clock,
                s.data_dir,
                base_topic=s.base_topic,
            )
            ingest.take_frames(hub.on_mqtt_frame)
            desk.evidence = lambda hh, kind: kind in EVIDENCE_TYPES and hub.can_see(hh)
            running = Running(
                s, store, session, pipeline, ops, outbox, ingest, health, hub, evidence, revision
            )
            running.links = signer
            running.care = CareDesk(pipeline, store, self.clock, outbox.wake, signer)
            await running.care.load()
            documents = running.documents = Documents(s.pdf_font)
            running.care.on_release = lambda hh, start: self._archive(running, hh, start)
            running.daily = DailyReporter(
                store,
                lambda: pipeline.directory,
                self.clock,
                outbox.wake,
                data_dir=s.data_dir.resolve(),
            )
            health.probe("broker", lambda: None if session.connected else "not connected")
            if lease is not None:
                running.lease = lease
                self._on_lost(lease, session)
            with contextlib.closing(hub):  # the analysis threads go with the gateway
                async with session, deliveries, echo, asyncio.TaskGroup() as tg:
                    server = self._http(running)
                    if self.settle_heap:
                        heap.settle()  # built; not connected yet, so no message waits on it

                    def start(name: str, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
                        tg.create_task(supervise(name, work, self.clock, health), name=name)

                    start("gateway.mqtt", session.run)
                    start("gateway.ingest", ingest.run)
                    start("gateway.outbox", outbox.run)
                    start("gateway.echo", echo.run)
                    start("gateway.tick", lambda: self._tick(running))
                    start("gateway.site", lambda: self._site(running))
                    start("gateway.daily", running.daily.run)
                    start("gateway.http", lambda: serve(server))
                    start("gateway.camera", lambda: self._camera(running))
                    start("gateway.pulled", lambda: run_pulled(hub))
                    # One-shot: reports a crash left unarchived; ingest does not wait for it.
                    start("gateway.archive", lambda: self._archive_pending(running))
                    # One-shot: logs what to install when PDFs cannot be made. A child process
                    # of seconds, so not before the session: a standby taking over waits for
                    # nothing but the broker.
                    start("gateway.documents", lambda: self._check_documents(documents))
                    if s.rflink_port:
                        start("gateway.rflink", lambda: self._rflink(running))
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

    @staticmethod
    async def _check_documents(documents: Documents) -> None:
        await asyncio.to_thread(documents.check)

    def _on_lost(self, lease: Lease, session: MqttSession) -> None:
        """What a lost lease stops at once, before any other callback of the loop runs."""
        lease.on_lost(lambda _why: session.pause_reading())
        if self.exit_on_lost:
            # As a SIGKILL would, which the gateway is built to survive: nothing after this
            # line can publish or commit. The service manager starts it again, as a standby.
            lease.on_lost(lambda _why: os._exit(EXIT_LEASE_LOST))

    def _http(self, running: Running) -> _Server:
        ctx = ApiContext(
            running.store,
            running.pipeline.desk,
            running.ops,
            lambda: running.session.connected,
            running.health,
            evidence=running.evidence,
            links=running.links,
            care=running.care,
            documents=running.documents or Documents(self.settings.pdf_font),
            data_dir=self.settings.data_dir,
            link_hours=self.settings.link_hours,
            session_hours=self.settings.session_hours,
            public_url=self.settings.public_url,
            lease=running.lease.view if running.lease is not None else None,
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

    async def _archive(self, r: Running, household_id: str, period_start: datetime) -> None:
        """Archive a release's report (run by the care desk after the release committed)."""
        await archive_release(
            r.store,
            r.pipeline.directory,
            self.settings.data_dir,
            household_id,
            period_start,
            r.documents,
        )

    async def _archive_pending(self, r: Running) -> None:
        await archive_pending(r.store, r.pipeline.directory, self.settings.data_dir, r.documents)

    async def _camera(self, r: Running) -> None:
        """Camera analysis to the pipeline, and evidence opened on door and camera alerts."""
        # Of the device events, the hub reads only motion (a Frigate report fetches a snapshot).
        with r.pipeline.desk.bus.subscribe(events={"motion"}) as news:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(r.cameras.run(), name="camera.hub")
                while True:
                    item = await news.get()
                    if isinstance(item, AlertChanged) and item.alert.snapshot:
                        await r.cameras.on_alert(item.alert)
                    elif isinstance(item, EventStored):
                        r.cameras.on_event(item)

    async def _rflink(self, r: Running) -> None:
        assert self.settings.rflink_port is not None
        await run_receiver(
            self.settings.rflink_port,
            self.settings.rflink_baud,
            self.clock.now,
            lambda: r.pipeline.directory,
            r.ingest.process_serial,
            self.clock.sleep,
        )

    async def _tick(self, r: Running) -> None:
        # A database outage is waited out here, a tick at a time: its staged state was never
        # installed, so the next tick decides again, at once when the database answers. Any
        # other fault ends this run; the supervisor logs it, waits and starts the ticker again.
        tick_at = self.clock.now()
        outage = False
        while True:
            # Sleep until a tick after the last one; if the clock moved on meanwhile (a slow
            # tick, a suspended machine, a test's fake clock), tick at once.
            delay = (tick_at - self.clock.now()).total_seconds() + self.settings.tick_s
            if delay > 0:
                await self.clock.sleep(delay)
            tick_at = self.clock.now()
            try:
                fresh = await r.pipeline.tick()
            except Exception as exc:
                if not is_outage(exc):
                    raise
                if not outage:
                    log.error("database unavailable; time-driven rules wait: %s", exc)
                r.health.down("database", f"tick: {type(exc).__name__}")
                outage = True
                continue
            if outage:
                log.warning("database answers again; time-driven rules run")
                r.health.up("database")
                outage = False
            if fresh:
                r.outbox.wake(fresh)

    async def _site(self, r: Running) -> None:
        # The revision in use lives on Running, so a restarted reloader does not load it again.
        while True:
            await asyncio.sleep(self.settings.site_poll_s)
            latest = await r.store.site_revision()
            if latest == r.site_revision:
                continue
            revision, directory = await current_directory(r.store)
            async with r.pipeline.desk.lock:
                r.pipeline.use_directory(directory)
            r.site_revision = revision
            log.info("site revision %d loaded: %d households", revision, len(directory.households))
