"""The broker socket under paho: packets read ahead and taken whole, writes gathered, PUBLISH and
PUBACK packets taken on the short path (a real socket pair; paho's client, unconnected)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from gateway.ingest.client import BufferedClient
from gateway.ingest.wire import MAX_UNSENT, BufferedSocket
from tests.samples import publish_packet as publish

TOPIC = "isogate/dev/door-h1/event"
BODY = b'{"type": "door", "open": true}'


@pytest.fixture
def pair() -> Iterator[tuple[BufferedSocket, socket.socket]]:
    """A buffered socket (the gateway's end, non-blocking) and the broker's end."""
    ours, broker = socket.socketpair()
    ours.setblocking(False)
    with ours, broker:
        yield BufferedSocket(ours), broker


def client_on(
    sock: BufferedSocket,
) -> tuple[BufferedClient, list[tuple[str, bytes, int, int, bool]]]:
    """A client reading from ``sock``, and what it hands on."""
    client = BufferedClient(callback_api_version=CallbackAPIVersion.VERSION2, manual_ack=True)
    client._sock = sock
    got: list[tuple[str, bytes, int, int, bool]] = []
    client.on_received = lambda *fields: got.append(fields)
    return client, got


def test_packets_sent_together_are_taken_whole_and_a_cut_one_waits_for_its_rest(pair):
    """Three packets in one write are taken one by one; half of a fourth is not taken."""
    sock, broker = pair
    packets = [publish(TOPIC, BODY, mid=n) for n in (1, 2, 3)]
    fourth = publish(TOPIC, b"x" * 300, mid=4)
    broker.sendall(b"".join(packets) + fourth[:100])
    taken = [sock.take_packet() for _ in range(3)]
    assert [(cmd, body[-len(BODY) :]) for cmd, body in taken] == [(0x32, BODY)] * 3
    assert sock.take_packet() is None
    broker.sendall(fourth[100:])
    cmd, body = sock.take_packet()
    assert cmd == 0x32 and body.endswith(b"x" * 300)
    assert sock.take_packet() is None and sock.buffered == 0


def test_small_reads_come_from_the_buffer_and_the_end_of_the_stream_shows(pair):
    """paho's own three reads of a packet are served from one read; a closed peer reads b''."""
    sock, broker = pair
    packet = publish(TOPIC, BODY)
    broker.sendall(packet)
    assert sock.recv(1) == packet[:1]
    assert sock.recv(1) == packet[1:2]
    assert sock.recv(len(packet)) == packet[2:]
    with pytest.raises(BlockingIOError):
        sock.recv(1)
    broker.close()
    assert sock.take_packet() is None
    assert sock.recv(1) == b""


def test_writes_wait_for_the_flush_and_go_in_one_piece(pair):
    """Two writes are one flush; the owner is told once that something waits."""
    sock, broker = pair
    told: list[int] = []
    sock.on_unsent = lambda: told.append(sock.unsent)
    assert sock.send(b"abc") == 3 and sock.send(b"def") == 3
    assert told == [3] and sock.unsent == 6
    assert sock.flush() is True
    assert broker.recv(100) == b"abcdef"


def test_a_full_write_buffer_refuses_and_a_socket_that_takes_part_keeps_the_rest(pair):
    """Past MAX_UNSENT a write is refused (paho keeps its packet); a full socket takes part."""
    sock, broker = pair
    sock.send(b"x" * MAX_UNSENT)
    with pytest.raises(BlockingIOError):
        sock.send(b"y")
    assert sock.flush() is False and 0 < sock.unsent < MAX_UNSENT
    while sock.unsent:
        broker.recv(1 << 20)
        sock.flush()


def test_a_publish_is_handed_on_as_its_fields_without_a_message_object(pair):
    """QoS 1 and 0, a DUP flag, a UTF-8 topic: what the broker sent, field by field."""
    sock, broker = pair
    client, got = client_on(sock)
    broker.sendall(
        publish(TOPIC, BODY, mid=9, dup=True)
        + publish("zigbee2mqtt/门", b"{}", qos=0)
        + publish(TOPIC, b"", mid=65535)
    )
    for _ in range(3):
        assert client._packet_read() == MQTTErrorCode.MQTT_ERR_SUCCESS
    assert got == [
        (TOPIC, BODY, 1, 9, True),
        ("zigbee2mqtt/门", b"{}", 0, 0, False),
        (TOPIC, b"", 1, 65535, False),
    ]


def test_a_publish_without_a_topic_is_a_protocol_error_not_a_message(pair):
    """An empty topic (MQTT 3.1.1 forbids it) ends the packet as paho would: a protocol error."""
    sock, broker = pair
    client, got = client_on(sock)
    broker.sendall(publish("", BODY))
    assert client._packet_read() == MQTTErrorCode.MQTT_ERR_PROTOCOL
    assert got == []


def test_a_batch_of_acknowledgements_is_one_write_of_pubacks(pair):
    """puback_all writes a PUBACK per packet id, in order, in one go."""
    sock, broker = pair
    client, _ = client_on(sock)
    client.puback_all([1, 2, 300])
    sock.flush()
    assert broker.recv(100) == b"\x40\x02\x00\x01\x40\x02\x00\x02\x40\x02\x01\x2c"


PUBACK_FROM_BROKER = b"\x40\x02\x00\x05"  # the broker's PUBACK of our publish 5


def test_publishes_read_ahead_are_taken_together_up_to_anything_else(pair):
    """take_publishes takes the whole PUBLISH packets in order, stops at a PUBACK (paho's path
    takes it, then the rest come), and leaves a cut packet until its rest has come."""
    sock, broker = pair
    client, got = client_on(sock)
    acked: list[int] = []
    client._out_messages[5] = object()  # type: ignore[assignment]  # one publish of ours out
    client._do_on_publish = lambda mid, *_: acked.append(mid) or MQTTErrorCode.MQTT_ERR_SUCCESS
    last = publish(TOPIC, b"x" * 300, mid=4)
    broker.sendall(
        publish(TOPIC, BODY, mid=1, dup=True)
        + publish("zigbee2mqtt/门", b"{}", qos=0)
        + PUBACK_FROM_BROKER
        + publish(TOPIC, BODY, mid=3)
        + last[:50]
    )
    assert client.take_publishes(256) == [
        (TOPIC, BODY, 1, 1, True),
        ("zigbee2mqtt/门", b"{}", 0, 0, False),
    ]
    assert client.take_publishes(256) == []  # the PUBACK is next: not a message
    assert client._packet_read() == MQTTErrorCode.MQTT_ERR_SUCCESS and acked == [5]
    assert client.take_publishes(256) == [(TOPIC, BODY, 1, 3, False)]
    assert client.take_publishes(256) == [] and sock.buffered == 50  # cut: it waits
    broker.sendall(last[50:])
    assert client.take_publishes(256) == [(TOPIC, b"x" * 300, 1, 4, False)]
    assert sock.buffered == 0 and got == []  # nothing went through on_received


def test_a_take_keeps_its_budget_and_reads_the_socket_once(pair):
    """At most ``budget`` messages a call; with nothing buffered, one read of the socket."""
    sock, broker = pair
    client, _ = client_on(sock)
    broker.sendall(b"".join(publish(TOPIC, BODY, mid=n) for n in range(1, 6)))
    assert [m[3] for m in client.take_publishes(2)] == [1, 2]
    assert [m[3] for m in client.take_publishes(10)] == [3, 4, 5]
    assert client.take_publishes(10) == []
    broker.sendall(publish(TOPIC, BODY, mid=6))
    assert [m[3] for m in client.take_publishes(10)] == [6]


def test_a_malformed_or_qos_2_publish_is_left_to_paho(pair):
    """A PUBLISH without a topic stops the take; paho's path then calls it a protocol error.
    A QoS 2 one goes paho's way too (it has a handshake of its own)."""
    sock, broker = pair
    client, got = client_on(sock)
    broker.sendall(publish(TOPIC, BODY, mid=1) + publish("", BODY, mid=2))
    assert [m[3] for m in client.take_publishes(10)] == [1]
    assert client.take_publishes(10) == []
    assert client._packet_read() == MQTTErrorCode.MQTT_ERR_PROTOCOL
    assert got == []
    broker.sendall(publish(TOPIC, BODY, qos=2, mid=3))
    assert client.take_publishes(10) == []
    assert sock.buffered > 0
