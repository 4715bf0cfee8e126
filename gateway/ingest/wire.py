"""The broker connection's socket as paho sees it: reads ahead, and gathers writes.

paho reads a packet in three ``recv`` calls (its first byte, its length, the rest) and writes
each packet with a ``send`` of its own; driven by the event loop, it also handles one packet per
readiness event. Draining a backlog, that is four system calls and a turn of the event loop per
message, more than the rest of the gateway spends on it. :class:`BufferedSocket` reads up to
``CHUNK`` bytes at a time and serves paho's small reads from memory; its writes are kept until
the owner flushes them, once per turn of the event loop, in one ``send``.

Nothing changes for what is acknowledged: bytes handed to ``send`` wait here instead of in the
kernel's socket buffer, and are lost with the connection in the same way (a PUBACK never sent
makes the broker send its message again; paho keeps an unacknowledged publish until its PUBACK).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

CHUNK = 64 * 1024
"""Bytes read from the socket at a time."""

MAX_UNSENT = 4 * 1024 * 1024
"""Writes held beyond this are refused as ``BlockingIOError``: paho then keeps them queued."""

_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class BufferedSocket:
    """A socket (plain or TLS, non-blocking) with a read-ahead buffer and a write buffer.

    ``on_unsent`` is called when the write buffer stops being empty: the owner then calls
    :meth:`flush` (soon, from its event loop).
    """

    def __init__(self, sock: Any, on_unsent: Callable[[], None] | None = None) -> None:
        self.raw = sock
        self.on_unsent = on_unsent
        self._in = b""
        self._pos = 0
        self._eof = False  # the peer closed: seen while filling, told at the next recv
        self._out = bytearray()

    # --- reading ------------------------------------------------------------------------------

    @property
    def buffered(self) -> int:
        """Bytes read from the socket that paho has not taken yet."""
        return len(self._in) - self._pos

    def take_packet(self) -> tuple[int, bytes] | None:
        """The next MQTT packet (its first byte, and what follows its length) when all of it
        is buffered, reading what the socket holds first if need be; else None, and nothing is
        taken (the end of the stream and errors are left for the next ``recv`` to say)."""
        found = self.peek_packet()
        if found is None and self.fill():
            found = self.peek_packet()
        if found is None:
            return None
        command, body, self._pos = found
        return command, body

    def fill(self) -> bool:
        """Append what the socket holds now to the buffer; whether anything came."""
        try:
            data: bytes = self.raw.recv(CHUNK)
        except (*_WOULD_BLOCK, OSError):
            return False
        if not data:
            self._eof = True
            return False
        rest = self._in[self._pos :]
        self._in, self._pos = (rest + data if rest else data), 0
        return True

    def peek_packet(self) -> tuple[int, bytes, int] | None:
        """The next packet when all of it is buffered (its first byte, what follows its length,
        and where it ends), without taking it (:meth:`skip_to` does); else None."""
        data, pos = self._in, self._pos
        end = len(data)
        at = pos + 1
        length, shift = 0, 0
        while True:
            if at >= end or shift > 21:  # not buffered yet (or malformed: paho's own path says)
                return None
            byte = data[at]
            length |= (byte & 0x7F) << shift
            at += 1
            if not byte & 0x80:
                break
            shift += 7
        if at + length > end:
            return None
        return data[pos], data[at : at + length], at + length

    def skip_to(self, end: int) -> None:
        """Take what :meth:`peek_packet` found: the buffer goes on from ``end``."""
        self._pos = end

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes: from the buffer, else one read of up to ``CHUNK`` bytes.

        Raises what the socket raises (``BlockingIOError`` when it has nothing, the TLS
        want-read/want-write errors, ``OSError``); returns ``b""`` at the end of the stream.
        """
        pos = self._pos
        have = len(self._in) - pos
        if have == 0:
            if self._eof:
                return b""
            data: bytes = self.raw.recv(max(size, CHUNK))
            if len(data) <= size:
                return data
            self._in, pos, have = data, 0, len(data)
        take = size if size < have else have
        self._pos = pos + take
        return self._in[pos : pos + take]

    # --- writing ------------------------------------------------------------------------------

    @property
    def unsent(self) -> int:
        """Bytes written by paho and not yet sent."""
        return len(self._out)

    def send(self, data: bytes | bytearray | memoryview) -> int:
        """Take ``data`` to send at the next :meth:`flush`; raises ``BlockingIOError`` when
        ``MAX_UNSENT`` bytes already wait (paho keeps the packet and asks to write later)."""
        if len(self._out) >= MAX_UNSENT:
            raise BlockingIOError("write buffer full")
        was_empty = not self._out
        self._out += data
        if was_empty and self.on_unsent is not None:
            self.on_unsent()
        return len(data)

    def flush(self) -> bool:
        """Send what waits, as far as the socket takes it; True when nothing is left.

        A connection that failed keeps nothing: the error shows on the next read, where paho
        handles a lost connection.
        """
        while self._out:
            try:
                sent = self.raw.send(self._out)
            except _WOULD_BLOCK:
                return False
            except OSError:
                self._out.clear()
                return True
            del self._out[:sent]
        return True

    # --- the rest is the socket's -------------------------------------------------------------

    def close(self) -> None:
        """Close the socket; what was not sent is dropped with it."""
        self._out.clear()
        self._in, self._pos = b"", 0
        self.raw.close()

    def fileno(self) -> int:
        """The socket's file descriptor (-1 once closed)."""
        return int(self.raw.fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.raw, name)


class LoopDriver:
    """Drives a :class:`BufferedClient` from an asyncio loop's selector: no network thread.

    Reading: on each readiness event the messages in the read-ahead buffer are taken (``take``
    first, paho's ``loop_read`` for anything it leaves) until it is empty, at most
    ``PACKETS_PER_TURN`` before other work gets a turn. Writing: whatever paho
    writes during one turn of the loop (acknowledgements of a whole batch, an alert on three
    topics) goes out in one ``send`` at the start of the next; a socket that does not take it
    all is watched for writability until it has.

    paho connects in an executor thread: its socket callbacks then come from there, and every
    selector change is moved to the loop's thread.
    """

    PACKETS_PER_TURN = 256

    def __init__(self, client: mqtt.Client, take: Callable[[int], int]) -> None:
        """``take(budget)``: hands on up to ``budget`` messages already read ahead without
        paho's reading path (the session's :meth:`BufferedClient.take_publishes` reader) and
        says how many; paho's ``loop_read`` takes anything else, one packet at a time."""
        self._client = client
        self._take = take
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._sock: BufferedSocket | None = None
        self._reading = True
        self._read_due = False
        self._write_due = False
        self._watching_write = False
        client.on_socket_open = self._opened
        client.on_socket_close = self._closed
        client.on_socket_register_write = lambda _c, _u, _s: self._on_loop(self._write_soon)
        client.on_socket_unregister_write = None

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """The loop to run on (the session's, known once it is entered), from its thread."""
        self._loop = loop
        self._loop_thread = threading.get_ident()

    @property
    def reading(self) -> bool:
        """Whether the socket is read (not paused)."""
        return self._reading

    def _on_loop(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self._loop
        assert loop is not None
        # By thread, not asyncio.get_running_loop(): on 3.11 that is a getpid() system call.
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            loop.call_soon_threadsafe(fn, *args)

    # --- the socket's life --------------------------------------------------------------------

    def _opened(self, _c: mqtt.Client, _ud: Any, sock: Any) -> None:
        # Small alert packets must not wait on Nagle + delayed ACK.
        if hasattr(sock, "setsockopt"):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(sock, BufferedSocket):
            sock.on_unsent = lambda: self._on_loop(self._write_soon)
        self._on_loop(self._start, sock)

    def _start(self, sock: BufferedSocket) -> None:
        assert self._loop is not None
        self._sock = sock
        self._watching_write = False
        if self._reading:
            self._loop.add_reader(sock.fileno(), self._readable)

    def _closed(self, _c: mqtt.Client, _ud: Any, sock: Any) -> None:
        self._on_loop(self._stop, sock, sock.fileno())

    def _stop(self, sock: BufferedSocket, fd: int) -> None:
        assert self._loop is not None
        if self._sock is sock:
            self._sock = None
            self._watching_write = False
        if fd >= 0:
            self._loop.remove_reader(fd)
            self._loop.remove_writer(fd)

    # --- reading ------------------------------------------------------------------------------

    def pause(self) -> None:
        """Stop reading: the broker's window fills and it holds the rest for us."""
        if self._reading and self._sock is not None and self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
        self._reading = False

    def resume(self) -> None:
        """Read again after :meth:`pause`, starting with what is already buffered."""
        if not self._reading and self._sock is not None and self._loop is not None:
            self._loop.add_reader(self._sock.fileno(), self._readable)
            self._read_soon()
        self._reading = True

    def _read_soon(self) -> None:
        if not self._read_due and self._loop is not None:
            self._read_due = True
            self._loop.call_soon(self._readable)

    def _readable(self) -> None:
        self._read_due = False
        sock = self._sock
        client, take = self._client, self._take
        budget = self.PACKETS_PER_TURN
        while budget > 0:
            if not self._reading or self._sock is not sock or sock is None:
                return
            taken = take(budget)
            if not taken:
                client.loop_read()
                taken = 1
            budget -= taken
            if not sock.buffered:
                return
        self._read_soon()  # more is buffered: go on after the others had their turn

    # --- writing ------------------------------------------------------------------------------

    def _write_soon(self) -> None:
        if not self._write_due and self._loop is not None:
            self._write_due = True
            self._loop.call_soon(self._writable)

    def _writable(self) -> None:
        self._write_due = False
        sock, client = self._sock, self._client
        if sock is None or self._loop is None:
            return
        if client.want_write():
            client.loop_write()  # paho's queued packets into the buffer
        done = sock.flush()
        if done and client.want_write():  # the buffer was full; it has room now
            client.loop_write()
            done = sock.flush()
        if done and self._watching_write:
            self._loop.remove_writer(sock.fileno())
            self._watching_write = False
        elif not done and not self._watching_write:
            self._loop.add_writer(sock.fileno(), self._writable)
            self._watching_write = True
