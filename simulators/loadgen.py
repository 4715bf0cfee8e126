"""A community's devices at scale, over one MQTT connection: the load the gateway lives under.

For a community of N households numbered as ``isogate demo`` numbers them
(:mod:`simulators.community`), the generator publishes what their devices would, with the
payloads of the device simulators (:class:`~simulators.door.DoorSensor`,
:class:`~simulators.ble.BleThermometer`, the synthetic door scenes of
:mod:`simulators.camera`):

- **door heartbeats**: every door reports its state every ``heartbeat_s`` (60 s), the doors'
  reports spread evenly over the period (at 50,000 households one every 1.2 ms, ~833/s) rather
  than all at once;
- **openings**: a door opens at random (a Poisson process) and closes again after 5–40 s. A
  household outside isolation (released, or under health monitoring only: ``1 - isolated_share``
  of them) opens ``openings_per_day`` times a day, which raises nothing; one inside its isolation
  period opens ``breaches_per_day`` times a day, and each such opening is a door breach. With the
  defaults, 50,000 households make ~1.9 openings/s and ~21 breaches an hour;
- **thermometer readings**: each resident measures ``readings_per_day`` times (twice) a day,
  normal readings spread evenly over the day. ``day_s`` compresses the day (``--day 600``: a
  day in ten minutes) to see the readings' load in a short run;
- **camera frames**: ``camera_share`` of the households (1 %) have a door camera that publishes a
  640×480 JPEG at ``camera_fps`` (1/s), QoS 0, from a looped empty corridor scene rendered once.

Doors and thermometers publish at QoS 1 through a window of at most ``window`` unacknowledged
messages (paho stalls at 65,535), so the counts are exact: ``sent`` is what was handed to the
client, ``acked`` what the broker acknowledged (frames: written to the socket). The client rides
out a broker restart (paho reconnects and sends what is queued). Households in ``spare`` keep
their doors quiet (no heartbeat, no opening): a benchmark drives those doors itself.

Library: ``with LoadGen(host, port, LoadPlan(10_000)) as gen: ...; gen.tally`` (or ``async
with``). Command line: ``python -m simulators.loadgen --households 10000 --url mqtt://127.0.0.1:1883
--duration 60``.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import random
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from types import TracebackType

import paho.mqtt.client as mqtt

from simulators.ble import BleThermometer
from simulators.community import camera_id, door_of, spread, thermometer_mac
from simulators.door import DoorSensor
from simulators.link import SimLink

KINDS = ("heartbeat", "opening", "breach", "reading", "frame")
"""What the generator counts: a breach is an opening (or its closing) in an isolated household."""
DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class LoadPlan:
    """The community and its rates (see the module's docstring for what each means)."""

    households: int
    heartbeat_s: float = 60.0
    openings_per_day: float = 4.0
    breaches_per_day: float = 0.05
    isolated_share: float = 0.2
    readings_per_day: float = 2.0
    day_s: float = DAY_S
    camera_share: float = 0.01
    camera_fps: float = 1.0
    hold_s: tuple[float, float] = (5.0, 40.0)
    spare: frozenset[int] = frozenset()
    seed: int = 0
    base_topic: str = "isogate"
    z2m_base: str = "zigbee2mqtt"
    omg_base: str = "home"
    window: int = 5_000  # at most the link's 10,000 in flight

    def isolated(self, i: int) -> bool:
        """Whether household i is inside its isolation period (an opening there is a breach)."""
        return spread(i, self.isolated_share)

    def has_camera(self, i: int) -> bool:
        """Whether household i has a door camera publishing frames."""
        return spread(i, self.camera_share)


@dataclass
class Tally:
    """What the generator published, by kind (see KINDS)."""

    sent: Counter[str] = field(default_factory=Counter)
    acked: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)  # frames refused while disconnected
    behind_s: float = 0.0  # the furthest the publisher fell behind its schedule

    def copy(self) -> Tally:
        """A snapshot."""
        return Tally(Counter(self.sent), Counter(self.acked), Counter(self.dropped), self.behind_s)


class _Round:
    """Items published one after the other, ``period`` apart per item, spread evenly."""

    def __init__(self, kind: str, items: list[int], period: float, start: float) -> None:
        self.kind, self.items = kind, items
        self.step = period / len(items) if items else float("inf")
        self.start, self.k = start, 0

    @property
    def next_at(self) -> float:
        return self.start + self.k * self.step

    def take(self) -> int:
        item = self.items[self.k % len(self.items)]
        self.k += 1
        return item


class LoadGen:
    """Publishes a community's load from a thread until stopped; counts what it published."""

    def __init__(
        self,
        host: str,
        port: int,
        plan: LoadPlan,
        *,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host, self.port, self.plan = host, port, plan
        self._login = (username, password)
        self.rng = random.Random(plan.seed)
        self.tally = Tally()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._link: SimLink | None = None
        self._pending: deque[tuple[mqtt.MQTTMessageInfo, str]] = deque()
        self._doors: dict[int, DoorSensor] = {}
        self._frames: list[bytes] = []
        self.started_at = 0.0
        self.failed: BaseException | None = None

    # --- lifetime --------------------------------------------------------------------------

    def start(self) -> LoadGen:
        """Connect, prepare the devices and start publishing."""
        p = self.plan
        if p.camera_share > 0:
            self._frames = _scene_frames(p.seed)
        username, password = self._login
        self._link = SimLink(self.host, self.port, username=username, password=password)
        self._link.__enter__()
        self._stop.clear()
        self.started_at = time.monotonic()
        self.failed = None
        self._thread = threading.Thread(target=self._guarded, name="loadgen", daemon=True)
        self._thread.start()
        return self

    def stop(self, drain_s: float = 30.0) -> Tally:
        """Stop publishing, wait up to ``drain_s`` for the broker's last acknowledgements."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        deadline = time.monotonic() + drain_s
        while self._pending and time.monotonic() < deadline:
            self._pending[0][0].wait_for_publish(max(0.01, deadline - time.monotonic()))
            self._reap()
        if self._link is not None:
            self._link.__exit__(None, None, None)
            self._link = None
        if self.failed is not None:
            raise RuntimeError("the load generator stopped on an error") from self.failed
        return self.counts()

    def counts(self) -> Tally:
        """What was published so far (a snapshot, safe from any thread)."""
        with self._lock:
            return self.tally.copy()

    def __enter__(self) -> LoadGen:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> LoadGen:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # --- the publisher thread --------------------------------------------------------------

    def _guarded(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # kept for stop() to raise: a thread's error is silent
            self.failed = exc

    def _run(self) -> None:
        p, rng = self.plan, self.rng
        all_ = range(1, p.households + 1)
        quiet = [i for i in all_ if i not in p.spare]
        free = [i for i in quiet if not p.isolated(i)]
        isolated = [i for i in quiet if p.isolated(i)]
        cameras = [i for i in all_ if p.has_camera(i)]
        now = self.started_at
        rounds = [
            _Round("heartbeat", quiet, p.heartbeat_s, now),
            _Round("reading", list(all_), p.day_s / p.readings_per_day, now)
            if p.readings_per_day > 0
            else _Round("reading", [], 1.0, now),
            _Round("frame", cameras, 1.0 / p.camera_fps, now),
        ]
        # Openings as two Poisson processes over the households they can happen in.
        rates = {
            "opening": (free, len(free) * p.openings_per_day / p.day_s),
            "breach": (isolated, len(isolated) * p.breaches_per_day / p.day_s),
        }
        next_open = {k: now + _after(rng, rate) for k, (_, rate) in rates.items()}
        closing: list[tuple[float, int, str]] = []
        while not self._stop.is_set():
            now = time.monotonic()
            for r in rounds:
                while r.next_at <= now and not self._stop.is_set():
                    self._behind(now - r.next_at)
                    self._publish_round(r.kind, r.take())
            for kind, (pool, rate) in rates.items():
                while next_open[kind] <= now:
                    i = rng.choice(pool)
                    door = self._door(i)
                    if not door.is_open:
                        self._send(kind, *door.message(True))
                        heapq.heappush(closing, (now + rng.uniform(*p.hold_s), i, kind))
                    next_open[kind] += _after(rng, rate)
            while closing and closing[0][0] <= now:
                _, i, kind = heapq.heappop(closing)
                self._send(kind, *self._door(i).message(False))
            self._reap()
            due = min([r.next_at for r in rounds] + list(next_open.values()))
            if closing:
                due = min(due, closing[0][0])
            self._stop.wait(min(0.05, max(0.0, due - time.monotonic())))

    def _publish_round(self, kind: str, i: int) -> None:
        p = self.plan
        if kind == "heartbeat":
            door = self._door(i)
            self._send(kind, *door.message(door.is_open))
        elif kind == "reading":
            assert self._link is not None
            mac = thermometer_mac(i)
            therm = BleThermometer(self._link, mac, omg_base=p.omg_base, rng=self.rng)
            self._send(kind, therm.topic, therm.payload(round(self.rng.uniform(36.2, 36.9), 1)))
        else:
            frame = self._frames[(i + self.rng.randrange(len(self._frames))) % len(self._frames)]
            self._send(kind, f"{p.base_topic}/cam/{camera_id(i)}/frame", frame, qos=0)

    def _door(self, i: int) -> DoorSensor:
        door = self._doors.get(i)
        if door is None:
            assert self._link is not None
            protocol, address = door_of(i)
            door = DoorSensor(
                self._link, address, protocol, base_topic=self.plan.base_topic,
                z2m_base=self.plan.z2m_base,
            )  # fmt: skip
            self._doors[i] = door
        return door

    def _send(self, kind: str, topic: str, payload: bytes, qos: int = 1) -> None:
        assert self._link is not None
        while len(self._pending) >= self.plan.window and not self._stop.is_set():
            self._pending[0][0].wait_for_publish(0.5)
            self._reap()
        info = self._link.client.publish(topic, payload, qos=qos)
        with self._lock:
            self.tally.sent[kind] += 1
            if qos == 0 and info.rc != mqtt.MQTT_ERR_SUCCESS:
                self.tally.dropped[kind] += 1  # QoS 0 is not queued while disconnected
                return
        self._pending.append((info, kind))

    def _reap(self) -> None:
        """Count the acknowledged messages at the head of the window."""
        done: Counter[str] = Counter()
        while self._pending and self._pending[0][0].is_published():
            done[self._pending.popleft()[1]] += 1
        if done:
            with self._lock:
                self.tally.acked.update(done)

    def _behind(self, lag: float) -> None:
        if lag > self.tally.behind_s:
            with self._lock:
                self.tally.behind_s = lag


def _after(rng: random.Random, rate: float) -> float:
    """The wait until the next event of a Poisson process (forever for a rate of 0)."""
    return rng.expovariate(rate) if rate > 0 else float("inf")


def _scene_frames(seed: int) -> list[bytes]:
    """JPEGs of an empty corridor at 1 frame/s, rendered once and looped by every camera."""
    from simulators.camera import SceneKind, make_scene  # numpy and OpenCV only when needed

    return [jpeg for _, jpeg in make_scene(SceneKind.EMPTY, seed, fps=1.0).jpegs()]


def main(argv: list[str] | None = None) -> int:
    """Publish a community's load to a broker, with a progress bar, until the duration ends."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from gateway.ingest.broker_url import BrokerAddress

    parser = argparse.ArgumentParser(description="Load of N simulated households over MQTT")
    parser.add_argument("--households", type=int, required=True)
    parser.add_argument("--url", default="mqtt://127.0.0.1:1883", help="the broker")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (0: until Ctrl-C)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--heartbeat", type=float, default=60.0, help="seconds between reports")
    parser.add_argument("--isolated-share", type=float, default=0.2)
    parser.add_argument("--camera-share", type=float, default=0.01)
    parser.add_argument("--day", type=float, default=DAY_S, help="length of a day in seconds")
    args = parser.parse_args(argv)
    where = BrokerAddress.parse(args.url)
    plan = LoadPlan(
        args.households,
        heartbeat_s=args.heartbeat,
        isolated_share=args.isolated_share,
        camera_share=args.camera_share,
        day_s=args.day,
        seed=args.seed,
    )
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with (
        Progress(*columns, TextColumn("{task.fields[counts]}")) as progress,
        LoadGen(
            where.host, where.port, plan, username=where.username, password=where.password
        ) as gen,
    ):
        task = progress.add_task(
            f"{args.households:,} households", total=args.duration or None, counts=""
        )
        try:
            while not args.duration or time.monotonic() - gen.started_at < args.duration:
                time.sleep(0.5)
                t = gen.counts()
                elapsed = max(0.5, time.monotonic() - gen.started_at)
                rate = sum(t.sent.values()) / elapsed
                text = " ".join(f"{k} {t.acked[k]:,}/{t.sent[k]:,}" for k in KINDS if t.sent[k])
                progress.update(task, completed=elapsed, counts=f"{rate:,.0f} msg/s  {text}")
        except KeyboardInterrupt:
            pass
    final = gen.counts()
    for kind in KINDS:
        print(f"{kind:<10} sent {final.sent[kind]:>9,}  acknowledged {final.acked[kind]:>9,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
