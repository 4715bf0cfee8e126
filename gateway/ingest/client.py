"""paho's client with a shorter path for what a gateway receives most: QoS 1 PUBLISH packets.

paho 2.2 (pinned) spends more on a received message than the gateway spends deciding it: three
reads for one packet, a ``threading.Condition`` for the delivery receipt of every message
(only outgoing messages use it), a walk of the per-topic callbacks (there are none), and a PUBACK
queued and written on its own. :class:`BufferedClient` runs on a
:class:`gateway.ingest.wire.BufferedSocket` and

- hands every whole packet already buffered to paho's packet handler directly (a partial packet
  takes paho's own reading path);
- takes a PUBACK's packet id without building a reason code and properties for it;
- decodes a PUBLISH of QoS 0 or 1 itself and calls ``on_received(topic, payload, qos, mid,
  dup)`` with its fields: no ``MQTTMessage`` is built (QoS 2, MQTT 5 and a client without
  ``on_received`` go through paho's handler and ``on_message``);
- takes every whole QoS 0 or 1 PUBLISH already read ahead in one call, without paho's
  per-packet machinery (:meth:`BufferedClient.take_publishes`, which the session's reader
  calls first on each readiness event);
- writes the PUBACKs of a committed batch in one go (:meth:`BufferedClient.puback_all`).

Everything else (connecting, subscribing, publishing and its retries, keepalive) is paho's.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Sequence
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from gateway.ingest.wire import BufferedSocket

Publish = tuple[str, bytes, int, int, bool]
"""``(topic, payload, qos, mid, dup)`` of a received PUBLISH."""
Received = Callable[[str, bytes, int, int, bool], None]
"""Called with a received PUBLISH's fields."""
MQTTv5 = MQTTProtocolVersion.MQTTv5

_PUBACK = struct.Struct("!BBH")
_PUBACK_OK = ReasonCode(PacketTypes.PUBACK)
_NO_PROPERTIES = Properties(PacketTypes.PUBACK)  # type: ignore[no-untyped-call]


class BufferedClient(mqtt.Client):
    """paho's client on a buffered socket, with the receiving shortcuts above."""

    on_received: Received | None = None

    def _create_socket(self) -> Any:
        return BufferedSocket(super()._create_socket())

    def message_callback_add(self, sub: str, callback: Any) -> None:
        """Not supported: every message goes to ``on_received`` or ``on_message``."""
        raise TypeError("BufferedClient has no per-topic callbacks")

    def puback_all(self, mids: Sequence[int]) -> None:
        """Acknowledge received QoS 1 messages (``manual_ack``): one write for all of them.

        paho keeps no state for a received QoS 1 message, so a PUBACK written here is the one
        ``ack`` would queue; a full write buffer falls back to ``ack``.
        """
        sock = self._sock
        if isinstance(sock, BufferedSocket):
            try:
                sock.send(b"".join([_PUBACK.pack(mqtt.PUBACK, 2, mid) for mid in mids]))
                return
            except BlockingIOError:
                pass
        for mid in mids:
            self.ack(mid, 1)

    def _packet_read(self) -> MQTTErrorCode:
        sock = self._sock
        if self._in_packet["command"] != 0 or not isinstance(sock, BufferedSocket):
            return super()._packet_read()
        whole = sock.take_packet()
        if whole is None:
            return super()._packet_read()
        command, body = whole
        self._in_packet = {
            "command": command,
            "have_remaining": 1,
            "remaining_count": [],
            "remaining_mult": 1,
            "remaining_length": len(body),
            "packet": body,  # type: ignore[typeddict-item]  # paho's decoders take bytes too
            "to_process": 0,
            "pos": 0,
        }
        try:
            rc = self._packet_handle()
        except MalformedPacket as exc:
            self._easy_log(mqtt.MQTT_LOG_DEBUG, "Received malformed packet: %s", exc)
            rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
        self._in_packet = {
            "command": 0,
            "have_remaining": 0,
            "remaining_count": [],
            "remaining_mult": 1,
            "remaining_length": 0,
            "packet": bytearray(b""),
            "to_process": 0,
            "pos": 0,
        }
        with self._msgtime_mutex:
            self._last_bytes_received = time.monotonic()
        return rc

    def _handle_pubackcomp(self, cmd: Literal["PUBACK", "PUBCOMP"]) -> MQTTErrorCode:
        body = self._in_packet["packet"]
        if cmd != "PUBACK" or self._protocol == MQTTv5 or len(body) != 2:
            return super()._handle_pubackcomp(cmd)
        # MQTT 3.1.1: the packet id alone; paho would build a reason code and properties
        # for it, which say nothing here (shared ones are passed on).
        mid = body[0] << 8 | body[1]
        with self._out_message_mutex:
            if mid in self._out_messages:
                return self._do_on_publish(mid, _PUBACK_OK, _NO_PROPERTIES)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def _handle_publish(self) -> MQTTErrorCode:
        command = self._in_packet["command"]
        received = self.on_received
        if command & 0x06 == 0x04 or received is None or self._protocol == MQTTv5:
            return super()._handle_publish()
        fields = publish_fields(command, self._in_packet["packet"])
        with self._in_callback_mutex:
            received(*fields)
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def take_publishes(self, budget: int) -> list[Publish]:
        """The fields of up to ``budget`` QoS 0 and 1 PUBLISH packets read ahead, in order.

        Draining a backlog, paho's path costs more per message than deciding it does: a call
        of ``loop_read``, its packet state built and reset, its dispatch on the packet type
        and a lock, per packet. Here the whole PUBLISH packets in the buffer are taken in one
        go; the socket is read once when none is buffered, so that what one call takes is at
        most one read's worth (the bound the caller keeps by pausing holds within it). It stops
        at a packet of another kind, of QoS 2, a cut one or a malformed one: paho's path
        takes it, and says what is wrong with it. Nothing is taken while paho is half-way
        through a packet, or for MQTT 5.
        """
        sock = self._sock
        if (
            self._in_packet["command"] != 0
            or not isinstance(sock, BufferedSocket)
            or self._protocol == MQTTv5
        ):
            return []
        out: list[Publish] = []
        filled = False
        while len(out) < budget:
            found = sock.peek_packet()
            if found is None:
                if out or filled or not sock.fill():
                    break
                filled = True
                continue
            command, body, end = found
            if command & 0xF0 != mqtt.PUBLISH or command & 0x06 == 0x04:
                break
            try:
                out.append(publish_fields(command, body))
            except MalformedPacket:
                break
            sock.skip_to(end)
        if out:
            with self._msgtime_mutex:
                self._last_bytes_received = time.monotonic()
        return out


def publish_fields(command: int, body: bytes | bytearray) -> Publish:
    """``(topic, payload, qos, mid, dup)`` of an MQTT 3.1.1 PUBLISH of QoS 0 or 1: its first
    byte, and what follows its length. Raises MalformedPacket for an empty or cut topic."""
    qos = (command >> 1) & 3
    # Variable header: topic length, topic, packet id (QoS 1).
    size = len(body)
    end = 2 + (body[0] << 8 | body[1]) if size >= 2 else size + 1
    start = end + 2 if qos else end
    if end == 2 or start > size:
        raise MalformedPacket("PUBLISH with an empty or cut topic")
    mid = body[end] << 8 | body[end + 1] if qos else 0
    raw_topic = body[2:end]
    try:
        topic = raw_topic.decode("utf-8")
    except UnicodeDecodeError:  # a broker lets none through; kept readable if one does
        topic = raw_topic.decode("utf-8", errors="backslashreplace")
    return topic, bytes(body[start:]), qos, mid, bool(command & 0x08)
