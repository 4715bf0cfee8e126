"""A TCP proxy on a free loopback port that a test can cut, as a network partition would.

:meth:`TcpProxy.cut` stops forwarding at once, both ways, on every connection, and new
connections are accepted but never answered: the client sees silence, not a reset, exactly as
behind a pulled cable — it learns only from its own timeouts. :meth:`TcpProxy.heal` closes the
silenced connections (as the client's TCP would eventually) and forwards new ones again.

It runs its own event loop on a thread, so that the caller's loop being busy never slows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from types import TracebackType

from simulators.broker import free_port


class TcpProxy:
    """127.0.0.1:``port`` → ``target_host``:``target_port``, cuttable."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.cut_off = False
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"tcp-proxy-{self.port}")
        self._server: asyncio.Server | None = None

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port)
        )
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.add(writer)
        if self.cut_off:
            return  # held open, never answered, until healed
        try:
            up_r, up_w = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            self._writers.discard(writer)
            return
        self._writers.add(up_w)
        with contextlib.suppress(asyncio.CancelledError):  # healed: the connection is gone
            await asyncio.gather(self._pipe(reader, up_w), self._pipe(up_r, writer))

    async def _pipe(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        try:
            while data := await src.read(65536):
                if self.cut_off:
                    await asyncio.Event().wait()  # silence until healed (the writer is closed)
                dst.write(data)
                await dst.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._writers.discard(dst)
            with contextlib.suppress(OSError, RuntimeError):
                dst.close()

    def cut(self) -> None:
        """Stop forwarding, both ways, now and for every new connection (no reset is sent)."""
        self.cut_off = True

    def heal(self) -> None:
        """Close the silenced connections and forward again."""

        def close_all() -> None:
            for w in list(self._writers):
                with contextlib.suppress(OSError, RuntimeError):
                    w.transport.abort()
            self._writers.clear()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self.cut_off = False
            done.set()

        done = threading.Event()
        self._loop.call_soon_threadsafe(close_all)
        done.wait(5)

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        if not self._ready.wait(10):
            raise TimeoutError("the proxy did not start")
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.heal()

        def shut() -> None:
            if self._server is not None:
                self._server.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(shut)
        self._thread.join(10)
        self._loop.close()
