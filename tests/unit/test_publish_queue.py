"""paho's outgoing queue is bounded: a publish beyond it fails at once, as a retryable error."""

from __future__ import annotations

from gateway.clock import SystemClock
from gateway.ingest.mqtt import MAX_QUEUED_PUBLISHES, MqttSession, PublishQueueFullError
from simulators.broker import free_port


async def test_a_publish_beyond_the_queue_bound_is_refused_not_held() -> None:
    """With the broker away, the bound's worth of alerts wait in paho; the next one is refused."""
    session = MqttSession(f"mqtt://127.0.0.1:{free_port()}", "bounded", clock=SystemClock())
    async with session:
        held = [session.publish_nowait("t", b"x") for _ in range(MAX_QUEUED_PUBLISHES)]
        refused = session.publish_nowait("t", b"x")
        assert not any(f.done() for f in held)
        assert isinstance(refused.exception(), PublishQueueFullError)
