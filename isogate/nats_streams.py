"""The JetStream stream that holds NATS's MQTT messages, made before NATS makes its own.

NATS keeps every QoS 1 message for an MQTT session in one stream, ``$MQTT_msgs``. When the first
MQTT client of an account connects and the stream is not there, NATS creates it with *interest*
retention: a message is removed once every consumer that needs it acknowledged it, each replica
deciding that on its own view of the consumers. In NATS 2.9 (Debian's), after a node's death that
view can be wrong for a moment: the fault suite saw, about once in five scenarios, an alert that
the broker took and delivered to two other sessions (the gateway's echo, an ``alerts/#``
observer) but never to the officer whose topic it was on, although that officer's consumer was
up and acknowledged everything it had been given. NATS then holds nothing more for anyone.

Made beforehand with *limits* retention, nothing is removed because of an acknowledgement: a
message stays until it is older than ``max_age`` (or the stream is over ``max_bytes``, oldest
first), and every consumer delivers it, whatever the others did. NATS uses a stream it finds as
it is. The cost is disk, bounded by the two limits; the bound on a phone's queue while away is
``max_age``, as ``max_queued_bytes`` is Mosquitto's.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import nats
import nats.errors
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from isogate.nats_config import MESSAGES_STREAM, SETUP, password_of

MESSAGES_SUBJECTS = ["$MQTT.msgs.>"]
MAX_AGE_S = 24 * 3600.0
"""A message is kept a day: a phone away longer finds the alert escalated to others by then."""
MAX_BYTES = 2 * 1024**3
"""And at most 2 GiB of them (a day of the bench's heaviest load is ~9 GiB: it is the bound)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """What was found or done."""

    created: bool
    retention: str
    replicas: int

    @property
    def safe(self) -> bool:
        """Whether the stream keeps messages by limits, not by acknowledgements."""
        return self.retention == RetentionPolicy.LIMITS.value

    def words(self) -> str:
        """One line for people."""
        done = "created" if self.created else "already there"
        line = f"{MESSAGES_STREAM} {done}: {self.retention} retention, {self.replicas} replicas"
        if not self.safe:
            line += (
                "; NATS made it (interest retention, not safe on NATS 2.9 after a node's"
                " death): stop every MQTT client, delete it (nats stream rm) and run this again"
            )
        return line


def messages_config(replicas: int) -> StreamConfig:
    """The stream's configuration: NATS's own, but limits retention."""
    return StreamConfig(
        name=MESSAGES_STREAM,
        subjects=MESSAGES_SUBJECTS,
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        num_replicas=replicas,
        max_age=MAX_AGE_S,
        max_bytes=MAX_BYTES,
        discard=DiscardPolicy.OLD,
    )


async def prepare(
    url: str, replicas: int, user: str | None = None, password: str | None = None
) -> Prepared:
    """Make ``$MQTT_msgs`` unless it is there; say what it is.

    Raises:
        nats.errors.Error: the node did not answer, or JetStream refused.
    """
    # One try (nats-py tries a server again until it failed more than max_reconnect_attempts
    # times, whatever allow_reconnect says): the caller tries again, and says why it gave up.
    nc = await nats.connect(
        url,
        user=user,
        password=password,
        connect_timeout=5,
        allow_reconnect=False,
        max_reconnect_attempts=1,
        reconnect_time_wait=0.1,
        error_cb=_quiet,
    )
    try:
        js = nc.jetstream(timeout=5)
        try:
            info = await js.stream_info(MESSAGES_STREAM)
            created = False
        except NotFoundError:
            info = await js.add_stream(messages_config(replicas))
            created = True
        cfg = info.config
        retention = str(getattr(cfg.retention, "value", cfg.retention))  # a str when read back
        return Prepared(created, retention, cfg.num_replicas or 1)
    finally:
        await nc.close()


async def _quiet(_exc: Exception) -> None:
    """nats-py's error callback: the failure is raised to the caller as well; no log of it."""


def prepare_when_ready(
    url: str,
    replicas: int,
    user: str | None = None,
    password: str | None = None,
    timeout: float = 60.0,
) -> Prepared:
    """:func:`prepare`, tried again until JetStream has its meta leader (a new cluster's first
    seconds) or ``timeout`` ran out; blocking, for a thread or a command.

    Raises:
        TimeoutError: JetStream never answered; the last error is its cause.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            # A thread of its own: the caller may be on an event loop (a test) or not.
            with ThreadPoolExecutor(1) as pool:
                return pool.submit(asyncio.run, prepare(url, replicas, user, password)).result()
        except (nats.errors.Error, OSError, TimeoutError) as exc:  # while the nodes start
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{MESSAGES_STREAM} not prepared on {url}: {exc!r}") from exc
            time.sleep(0.5)


def prepare_with(directory: Path, url: str, replicas: int) -> tuple[int, str]:
    """``isogate nats-prepare``: the stream made or found with the setup login of ``directory``
    (``broker-config --nats``'s); (exit status, what to tell the operator)."""
    try:
        password = password_of(directory, SETUP.user)
    except (OSError, KeyError):
        return 1, (
            f"no {SETUP.user} login in {directory / 'credentials.txt'}: run `isogate "
            "broker-config --nats` on that directory again (it keeps the passwords) and reload "
            "the nodes"
        )
    try:
        done = prepare_when_ready(url, replicas, SETUP.user, password, timeout=30)
    except TimeoutError as exc:
        return 1, str(exc)
    return (0 if done.safe else 1), done.words()
