"""The gateway's MQTT session: paho-mqtt driven by the asyncio loop, with manual acknowledgement.

paho runs on the event loop's own selector (no network thread; :mod:`gateway.ingest.wire`), so
a received message, its commit and its PUBACK all happen on one thread. With ``manual_ack`` a
QoS 1 message is acknowledged to the broker only when the pipeline says it is committed; a
gateway killed before that gets the message again from its persistent session.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from gateway import metrics
from gateway.backoff import full_jitter
from gateway.clock import Clock
from gateway.ingest.broker_url import BrokerAddress, broker_addresses
from gateway.ingest.client import BufferedClient
from gateway.ingest.wire import LoopDriver

log = logging.getLogger("isogate.mqtt")


@dataclass(slots=True)
class Inbound:
    """A message as it arrived. ``mid`` is what to acknowledge (0 for QoS 0).

    Not frozen for speed alone (a frozen dataclass's ``__init__`` costs ~0.16 µs a field, one
    per message on the hot path): it is a value, and nothing changes one once made.
    """

    topic: str
    payload: bytes
    qos: int
    mid: int
    dup: bool
    received_at: datetime
    generation: int = 0  # which connection it came on: a PUBACK is only good on that one
    size: int | None = None  # set when only an excerpt of a too-large payload is kept


# paho's outgoing QoS 1 messages (in flight and queued behind them) are held in memory until
# the broker acknowledges them; during an outage they pile up. 10,000 covers a long outage of a
# busy site (an alert is a few hundred bytes) and stays under paho's 65,535 message ids.
MAX_QUEUED_PUBLISHES = 10_000
MAX_INFLIGHT_PUBLISHES = 1000


class PublishError(RuntimeError):
    """A publish was not acknowledged by the broker in time."""


class PublishQueueFullError(PublishError):
    """paho already holds ``MAX_QUEUED_PUBLISHES`` unacknowledged messages; try again later."""


class MqttSession:
    """A persistent MQTT session: connect, subscribe, reconnect with backoff, publish, ack."""

    def __init__(
        self,
        url: str,
        client_id: str,
        *,
        clock: Clock,
        subscriptions: Sequence[str] = (),
        on_message: Callable[[Inbound], None] | None = None,
        clean: bool = False,
        keepalive: int = 30,
        backoff_cap_s: float = 30.0,
        gauged: bool = True,
    ) -> None:
        self.addresses = broker_addresses(url)
        # Whether this session is the one the broker metrics describe (the ingest session); a
        # helper session (the alert echo) logs its losses but leaves the gauges alone.
        self._gauged = gauged
        self._at = 0  # which of them the session uses; the next one after a loss
        self._clock = clock
        self._subs = [(t, 1) for t in subscriptions]
        self._on_message = on_message
        self._client_id = client_id
        self._clean = clean
        self._keepalive = keepalive
        self._backoff_cap = backoff_cap_s
        self._client = BufferedClient(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=clean,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        if self.address.tls:
            self._client.tls_set_context(ssl.create_default_context())
        self._client.max_inflight_messages_set(MAX_INFLIGHT_PUBLISHES)
        self._client.max_queued_messages_set(MAX_QUEUED_PUBLISHES)
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.on_message = self._message
        self._client.on_received = self._received
        self._client.on_publish = self._published
        self._driver = LoopDriver(self._client, self._take_received)
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._up = asyncio.Event()
        self._down = asyncio.Event()
        self._down.set()
        self._was_up = False
        self._generation = 0

    # --- lifetime -----------------------------------------------------------------------------

    async def __aenter__(self) -> MqttSession:
        self._loop = asyncio.get_running_loop()
        self._driver.attach(self._loop)
        return self

    async def run(self) -> None:
        """Stay connected (reconnecting with backoff) and keep paho's timers; until cancelled.

        The owner runs this in its TaskGroup (the gateway's ``gateway.mqtt`` task).
        """
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._keep_connected(), name="mqtt.connect")
            tg.create_task(self._misc(), name="mqtt.misc")

    async def __aexit__(self, *exc: object) -> None:
        if self._client.is_connected():
            self._client.disconnect()
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(PublishError("session closed"))
        self._pending.clear()

    @property
    def address(self) -> BrokerAddress:
        """The broker the session is connected to, or tries next."""
        return self.addresses[self._at]

    @property
    def connected(self) -> bool:
        """Whether the broker connection is up."""
        return self._up.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until the session is connected and subscribed."""
        async with asyncio.timeout(timeout):
            await self._up.wait()

    async def _keep_connected(self) -> None:
        attempt = 0
        while True:
            try:
                await self._connect_once()
                attempt = 0
                await self._down.wait()
            except (OSError, mqtt.WebsocketConnectionError) as exc:
                if attempt == 0:
                    log.warning(
                        "broker %s:%s unreachable: %s", self.address.host, self.address.port, exc
                    )
            attempt += 1
            if len(self.addresses) > 1:
                # Failover: the next node, same client id, same persistent session; the backoff
                # starts once every node was tried.
                self._at = (self._at + 1) % len(self.addresses)
                level = logging.INFO if attempt == 1 else logging.DEBUG  # once per outage
                log.log(level, "trying broker %s:%s next", self.address.host, self.address.port)
            delay = full_jitter(attempt // len(self.addresses), 0.5, self._backoff_cap)
            await asyncio.sleep(delay)

    async def _connect_once(self) -> None:
        assert self._loop is not None
        self._up.clear()
        self._down.clear()
        target = self.address
        host, port = target.host, target.port
        if not self._was_up or (self._client.host, self._client.port) != (host, port):
            # The first connect, or another node, sets host and port; later ones reuse them.
            # paho keeps its unacknowledged publishes across it and sends them again.
            self._client.username_pw_set(target.username, target.password)
            await self._loop.run_in_executor(
                None, self._client.connect, host, port, self._keepalive
            )
        else:
            await self._loop.run_in_executor(None, self._client.reconnect)
        self._was_up = True
        # Wait for CONNACK; a refused or dropped connection sets _down.
        done, _ = await asyncio.wait(
            [asyncio.ensure_future(self._up.wait()), asyncio.ensure_future(self._down.wait())],
            timeout=15,
            return_when=asyncio.FIRST_COMPLETED,
        )
        for fut in done:
            fut.cancel()
        if not self._up.is_set():
            self._down.set()
            raise OSError("no CONNACK from the broker")

    async def _misc(self) -> None:
        while True:
            await asyncio.sleep(1)
            if self._client.socket() is not None:
                self._client.loop_misc()

    # --- paho callbacks (on the event loop thread) ---------------------------------------------

    def _connected(self, client: mqtt.Client, _ud: Any, flags: Any, rc: Any, _p: Any) -> None:
        if rc.is_failure:
            log.error("broker refused the connection: %s", rc)
            self._down.set()
            return
        self._generation += 1
        if self._generation > 1 and not self._clean and not flags.session_present:
            # The broker kept no session for us: whatever it queued while we were away (a
            # broker crash before it saved its persistence) is gone. Say so, and count it.
            if self._gauged:
                metrics.SESSION_LOST.inc()
            log.error(
                "broker %s:%s has no session for %s: messages queued meanwhile may be lost",
                self.address.host,
                self.address.port,
                self._client_id,
            )
        for topic, qos in self._subs:
            client.subscribe(topic, qos=qos)
        log.info("connected to broker %s:%s", self.address.host, self.address.port)
        if self._gauged:
            metrics.BROKER_UP.set(1)
        self._up.set()

    def _disconnected(self, _c: mqtt.Client, _ud: Any, _flags: Any, rc: Any, _p: Any) -> None:
        if self._up.is_set():
            log.warning("disconnected from broker: %s", rc)
        if self._gauged:
            metrics.BROKER_UP.set(0)
        self._up.clear()
        self._down.set()

    def _message(self, _c: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        self._received(msg.topic, bytes(msg.payload), msg.qos, msg.mid, bool(msg.dup))

    def _received(self, topic: str, payload: bytes, qos: int, mid: int, dup: bool) -> None:
        if self._on_message is not None:
            self._on_message(
                Inbound(topic, payload, qos, mid, dup, self._clock.now(), self._generation)
            )

    def _take_received(self, budget: int) -> int:
        """The messages read ahead, handed on together (the driver's reader); how many.

        They came in one read of the socket: one time of receipt for all of them.
        """
        handle = self._on_message
        if handle is None:
            return 0
        taken = self._client.take_publishes(budget)
        if taken:
            at, generation = self._clock.now(), self._generation
            for topic, payload, qos, mid, dup in taken:
                handle(Inbound(topic, payload, qos, mid, dup, at, generation))
        return len(taken)

    # --- flow control -------------------------------------------------------------------------

    def pause_reading(self) -> None:
        """Stop reading the socket: the broker's window fills and it holds the rest for us."""
        self._driver.pause()

    def resume_reading(self) -> None:
        """Read the socket again after :meth:`pause_reading`."""
        self._driver.resume()

    def _published(self, _c: mqtt.Client, _ud: Any, mid: int, _rc: Any, _p: Any) -> None:
        fut = self._pending.pop(mid, None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    def listen(
        self,
        subscriptions: Sequence[str],
        on_message: Callable[[Inbound], None],
        *,
        lossy: Sequence[str] = (),
    ) -> None:
        """Subscribe to ``subscriptions`` (at every connect) and hand each message over.

        ``lossy`` topics are subscribed at QoS 0: what is worth something only when it is new
        (camera frames), which the broker neither queues for us nor sends again.
        """
        self._subs = [(t, 1) for t in subscriptions] + [(t, 0) for t in lossy]
        self._on_message = on_message

    # --- for the gateway ----------------------------------------------------------------------

    def ack(self, message: Inbound) -> None:
        """Acknowledge a received message to the broker (after its event is committed)."""
        self.ack_all([message])

    def ack_all(self, messages: Sequence[Inbound]) -> None:
        """Acknowledge received messages to the broker (after their events are committed), in
        one write.

        A message that came on an earlier connection is not acknowledged: the broker sends it
        again on this one (marked DUP), and that copy is acknowledged once it is recognised.
        """
        if not self.connected:
            return
        generation = self._generation
        mids = [m.mid for m in messages if m.qos == 1 and m.generation == generation]
        if mids:
            self._client.puback_all(mids)
        for m in messages:
            if m.qos == 2 and m.generation == generation:
                self._client.ack(m.mid, m.qos)

    def publish_nowait(
        self, topic: str, payload: bytes | str, qos: int = 1
    ) -> asyncio.Future[None]:
        """Queue a publish; the future resolves on the broker's PUBACK.

        paho keeps a QoS 1 message until its PUBACK and sends it again after a reconnect, so a
        caller that wants it once waits for this future again rather than publishing anew.
        The future fails with ``PublishQueueFullError`` when paho's queue is full (the message
        was not taken), and with ``PublishError`` when the session closes first.
        """
        assert self._loop is not None
        fut: asyncio.Future[None] = self._loop.create_future()
        info = self._client.publish(topic, payload, qos=qos, retain=False)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            fut.set_exception(
                PublishQueueFullError(f"{MAX_QUEUED_PUBLISHES} publishes queued; {topic} refused")
            )
        elif qos == 0:
            fut.set_result(None)
        else:
            self._pending[info.mid] = fut
        return fut

    async def publish(
        self, topic: str, payload: bytes | str, qos: int = 1, timeout: float = 10.0
    ) -> None:
        """Publish and wait for the PUBACK; raises PublishError after ``timeout``."""
        await self.wait_published(self.publish_nowait(topic, payload, qos), topic, timeout)

    @staticmethod
    async def wait_published(fut: asyncio.Future[None], topic: str, timeout: float) -> None:
        """Wait for a ``publish_nowait`` future; it stays pending after a timeout.

        Raises:
            PublishError: no PUBACK within ``timeout`` seconds (the message stays with paho and
                is still sent), or the publish failed.
        """
        if not fut.done():
            # A waiter of our own (a timer and a callback), so that neither a timeout nor the
            # caller's cancellation cancels the future of a message paho still holds.
            loop = fut.get_loop()
            waiter: asyncio.Future[None] = loop.create_future()

            def wake(_: object = None) -> None:
                if not waiter.done():
                    waiter.set_result(None)

            fut.add_done_callback(wake)
            timer = loop.call_later(timeout, wake)
            try:
                await waiter
            finally:
                timer.cancel()
                fut.remove_done_callback(wake)
            if not fut.done():
                raise PublishError(f"no PUBACK for {topic} within {timeout}s")
        fut.result()  # the publish's own failure, if it failed
