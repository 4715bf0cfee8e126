"""A property over the real ingest path: after any junk, a valid opening still raises its breach."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.ingest.mqtt import Inbound
from tests.conftest import Harness

_seqs = itertools.count(10**12)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@st.composite
def payloads(draw: st.DrawFn) -> bytes:
    """Bytes a hostile or broken client might send."""
    kind = draw(st.sampled_from(["bytes", "nested", "bigint", "nan", "json", "door", "utf8"]))
    if kind == "bytes":
        return draw(st.binary(max_size=300))
    if kind == "nested":
        n = draw(st.integers(1000, 200_000))
        return draw(st.sampled_from([b"[", b'{"a":'])) * n
    if kind == "bigint":
        return (
            b'{"type": "door", "open": true, "seq": ' + b"7" * draw(st.integers(4300, 9000)) + b"}"
        )
    if kind == "nan":
        return b'{"type": "temperature", "celsius": NaN, "battery": Infinity}'
    if kind == "door":
        body = {"type": "door", "open": draw(json_values), "seq": draw(st.integers(-5, 2**70))}
        return json.dumps(body).encode()
    if kind == "utf8":
        return draw(st.text(max_size=200)).encode("utf-8", "surrogatepass")
    return json.dumps(draw(json_values), allow_nan=True).encode()


@st.composite
def topics(draw: st.DrawFn, base: str, z2m: str, omg: str) -> str:
    """Device, bridge and ack topics, including far too long ones."""
    word = draw(st.text(st.characters(blacklist_characters="#+/\x00"), min_size=1, max_size=30))
    return draw(
        st.sampled_from(
            [
                f"{base}/dev/door-h2/event",
                f"{base}/dev/door-h2/status",
                f"{base}/dev/{word}/event",
                f"{base}/ack/{word}",
                f"{base}/ack/p2/{word}",
                f"{z2m}/h1/front door",
                f"{z2m}/h1/front door/availability",
                f"{z2m}/{word}",
                f"{omg}/gw/BTtoMQTT/{word}",
                f"{base}/dev/{'x' * 2000}/event",
            ]
        )
    )


async def test_after_any_junk_a_valid_opening_still_raises_its_breach(gateway: Harness):
    """Hypothesis draws junk for the real ingest worker; the next opening is a breach each time."""
    loop = asyncio.get_running_loop()
    ingest, store = gateway.running.ingest, gateway.running.store
    base, z2m = gateway.base, gateway.z2m
    omg = gateway.settings.omg_base_topic

    def inject(topic: str, payload: bytes) -> None:
        message = Inbound(topic, payload, 0, 0, False, datetime.now(UTC))
        loop.call_soon_threadsafe(ingest.on_message, message)

    async def opening_judged(seq: int) -> str | None:
        for e in await store.household_events("h2", kind="door", limit=20):
            if e.seq == seq:
                return e.report
        return None

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(st.tuples(topics(base, z2m, omg), payloads()), min_size=1, max_size=8))
    def property_(junk: list[tuple[str, bytes]]) -> None:
        for topic, payload in junk:
            inject(topic, payload)
        close, opening = next(_seqs), next(_seqs)
        door = f"{base}/dev/door-h2/event"
        inject(door, json.dumps({"type": "door", "open": False, "seq": close}).encode())
        inject(door, json.dumps({"type": "door", "open": True, "seq": opening}).encode())
        deadline = time.monotonic() + 20
        report = None
        while report is None and time.monotonic() < deadline:
            report = asyncio.run_coroutine_threadsafe(opening_judged(opening), loop).result()
            time.sleep(0.01)
        assert report == "change/breach", f"opening after {len(junk)} junk messages: {report}"

    await asyncio.to_thread(property_)
    active = [a for a in gateway.running.pipeline.desk.active() if a.household_id == "h2"]
    assert any(a.type.value == "door_breach" for a in active)
