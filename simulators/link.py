"""A device's MQTT link: a paho client on its own network thread, QoS 1 publishes confirmed."""

from __future__ import annotations

import socket
import threading
import uuid
from collections import deque
from collections.abc import Iterable
from types import TracebackType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class SimLink:
    """One MQTT connection for one or more simulated devices (sync, thread-safe publishes)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str | None = None,
        will: tuple[str, str] | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id or f"sim-{uuid.uuid4().hex[:10]}",
            protocol=mqtt.MQTTv311,
        )
        self.client.max_inflight_messages_set(10_000)
        self.client.max_queued_messages_set(0)
        if username is not None:
            self.client.username_pw_set(username, password)
        if will is not None:
            self.client.will_set(will[0], will[1], qos=1, retain=True)
        self._connected = threading.Event()
        self._refused: str | None = None
        self.client.on_connect = self._on_connect
        self.client.on_socket_open = self._nodelay

    def _on_connect(self, _c: Any, _ud: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            self._refused = str(reason)
        self._connected.set()

    @staticmethod
    def _nodelay(_c: Any, _ud: Any, sock: Any) -> None:
        if hasattr(sock, "setsockopt"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def __enter__(self) -> SimLink:
        self.client.connect(self.host, self.port, keepalive=30)
        self.client.loop_start()
        if not self._connected.wait(10):
            raise ConnectionError(f"no CONNACK from {self.host}:{self.port}")
        if self._refused is not None:
            self.client.loop_stop()
            raise ConnectionRefusedError(f"{self.host}:{self.port} refused: {self._refused}")
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(
        self,
        topic: str,
        payload: bytes | str,
        *,
        qos: int = 1,
        retain: bool = False,
        wait: bool = True,
    ) -> mqtt.MQTTMessageInfo:
        """Publish; with ``wait`` block until the broker acknowledged it."""
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if wait and qos > 0:
            info.wait_for_publish(timeout=10)
            if not info.is_published():
                raise TimeoutError(f"broker did not acknowledge {topic}")
        return info

    def publish_many(self, messages: Iterable[tuple[str, bytes | str]], window: int = 2000) -> int:
        """Publish a stream at QoS 1, at most ``window`` unacknowledged at a time.

        paho stalls at 65,535 unacknowledged messages (16-bit message ids): a burst keeps a
        window. Returns how many were published, all acknowledged by the broker.
        """
        pending: deque[mqtt.MQTTMessageInfo] = deque()
        count = 0
        for topic, payload in messages:
            pending.append(self.publish(topic, payload, wait=False))
            count += 1
            if len(pending) >= window:
                pending.popleft().wait_for_publish(30)
        for info in pending:
            info.wait_for_publish(30)
        return count
