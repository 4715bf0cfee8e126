"""An HTTP receiver for webhook deliveries: a generic endpoint, a WeCom bot and a DingTalk robot.

It runs the standard library's threading HTTP server on 127.0.0.1 and a free port, on its own
thread, so any test (sync or async) can use it. It records every POST, counts accepted
deliveries per ``(alert id, status)`` to prove exactly-once delivery, and can be told to answer
500 (or another status) for the next N requests or until cleared, to answer a bot error code
(e.g. a rate limit), or to hang without answering.

Paths: ``/wecom`` and ``/dingtalk`` answer like the bots (``{"errcode": 0, "errmsg": "ok"}``);
``/dingtalk`` checks the ``timestamp``/``sign`` query when a secret is configured and refuses a
bad one with errcode 310000, as DingTalk does. Any other path is a generic JSON endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simulators._lifetime import StartStop


@dataclass(frozen=True, slots=True)
class Delivery:
    """One POST as received."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    alert_id: str | None
    status: str | None
    delivery_id: str | None
    answered: int
    errcode: int | None = None
    at: float = field(default_factory=time.time)

    @property
    def key(self) -> tuple[str | None, str | None]:
        """The de-duplication key: (alert id, status)."""
        return (self.alert_id, self.status)


class WebhookReceiver(StartStop):
    """A recording webhook endpoint; ``start()``/``stop()`` or use it as a context manager."""

    def __init__(self, *, dingtalk_secret: str | None = None, max_skew_s: float = 3600.0) -> None:
        """Prepare the receiver; nothing listens until ``start``.

        Args:
            dingtalk_secret: Verify DingTalk signatures with this secret; None skips the check.
            max_skew_s: Refuse DingTalk timestamps further than this from now (DingTalk: 1 h).
        """
        self.dingtalk_secret = dingtalk_secret
        self.max_skew_s = max_skew_s
        self.requests: list[Delivery] = []
        """Every POST, whatever the answer."""
        self._lock = threading.Condition()
        self._fail_statuses: list[int] = []
        self._fail_always: int | None = None
        self._errcodes: list[int] = []
        self._hang = threading.Event()
        self._released = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> WebhookReceiver:
        """Listen on 127.0.0.1 and a free port."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # tests read the recorded deliveries, not an access log

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A short poll interval keeps stop() (and every test using the receiver) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="webhook-receiver",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release hanging requests, stop listening and join the thread."""
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        assert self._server is not None, "start() the receiver first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def url(self, path: str = "/hook") -> str:
        """The full URL of ``path`` on this receiver."""
        return self.base_url + path

    # -- behaviour -----------------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next ``count`` requests with HTTP ``status``."""
        with self._lock:
            self._fail_statuses.extend([status] * count)

    def fail_until_cleared(self, status: int = 500) -> None:
        """Answer every request with HTTP ``status`` until ``clear``."""
        with self._lock:
            self._fail_always = status

    def errcode_next(self, count: int = 1, errcode: int = 45009) -> None:
        """Answer the next ``count`` bot requests with HTTP 200 and this ``errcode``."""
        with self._lock:
            self._errcodes.extend([errcode] * count)

    def hang(self, on: bool = True) -> None:
        """Hold requests without answering (until ``hang(False)``, ``clear`` or ``stop``)."""
        if on:
            self._released.clear()
            self._hang.set()
        else:
            self._hang.clear()
            self._released.set()

    def clear(self) -> None:
        """Back to answering every request with success."""
        with self._lock:
            self._fail_statuses.clear()
            self._fail_always = None
            self._errcodes.clear()
        self.hang(False)

    # -- what was received ---------------------------------------------------------------

    @property
    def deliveries(self) -> list[Delivery]:
        """The requests that were accepted (2xx and, for bots, errcode 0)."""
        with self._lock:
            return [d for d in self.requests if d.answered == 200 and not d.errcode]

    @property
    def total_posts(self) -> int:
        """Every POST received, failed and hung ones included."""
        with self._lock:
            return len(self.requests)

    def counts(self) -> Counter[tuple[str | None, str | None]]:
        """Accepted deliveries per (alert id, status); any count above 1 is a duplicate."""
        return Counter(d.key for d in self.deliveries)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[Delivery]:
        """Block until ``count`` deliveries were accepted; return them."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                accepted = [d for d in self.requests if d.answered == 200 and not d.errcode]
                if len(accepted) >= count:
                    return accepted
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(accepted)} deliveries, expected {count}")
                self._lock.wait(left)

    # -- the server side -----------------------------------------------------------------

    def _verify_dingtalk(self, query: dict[str, str]) -> bool:
        if self.dingtalk_secret is None:
            return True
        timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
        if not timestamp.isdigit() or abs(int(timestamp) / 1000 - time.time()) > self.max_skew_s:
            return False
        secret = self.dingtalk_secret.encode()
        digest = hmac.new(secret, f"{timestamp}\n{self.dingtalk_secret}".encode(), hashlib.sha256)
        expected = base64.b64encode(digest.digest()).decode()
        # parse_qs already undid the URL encoding, so compare with the plain Base64.
        return hmac.compare_digest(expected, sign)

    def _decide(self, path: str, query: dict[str, str]) -> tuple[int, int | None, str]:
        """HTTP status, bot errcode and errmsg for the next request."""
        with self._lock:
            if self._fail_always is not None:
                return self._fail_always, None, "failing"
            if self._fail_statuses:
                return self._fail_statuses.pop(0), None, "failing"
            bot = path in ("/wecom", "/dingtalk")
            if bot and self._errcodes:
                return 200, self._errcodes.pop(0), "scripted error"
        if path == "/dingtalk" and not self._verify_dingtalk(query):
            return 200, 310000, "sign not match"
        return 200, (0 if path in ("/wecom", "/dingtalk") else None), "ok"

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length)
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            body: Any = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = raw.decode("utf-8", errors="replace")
        headers = {k.lower(): v for k, v in request.headers.items()}
        hanging = self._hang.is_set()
        status, errcode, errmsg = (0, None, "hung") if hanging else self._decide(parts.path, query)
        if status == 200 and errcode == 0 and not _bot_body_ok(parts.path, body):
            errcode, errmsg = 40035, "invalid message body"
        is_json = isinstance(body, dict)
        delivery = Delivery(
            path=parts.path,
            query=query,
            headers=headers,
            body=body,
            alert_id=(body.get("id") if is_json else None) or headers.get("x-isogate-alert-id"),
            status=(body.get("status") if is_json else None)
            or headers.get("x-isogate-alert-status"),
            delivery_id=headers.get("x-isogate-delivery-id"),
            answered=status,
            errcode=errcode or None,
        )
        with self._lock:
            self.requests.append(delivery)
            self._lock.notify_all()
        if hanging:
            # Never answer; when released the connection is closed without a response.
            self._released.wait()
            request.close_connection = True
            return
        answer: dict[str, object]
        if status != 200:
            answer = {"error": errmsg}
        elif errcode is not None:
            answer = {"errcode": errcode, "errmsg": errmsg}
        else:
            answer = {"ok": True}
        data = json.dumps(answer).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


def _bot_body_ok(path: str, body: Any) -> bool:
    """Whether a bot body has the fields the real bot requires."""
    if path not in ("/wecom", "/dingtalk"):
        return True
    if not isinstance(body, dict):
        return False
    kind = body.get("msgtype")
    inner = body.get(kind) if isinstance(kind, str) else None
    if not isinstance(inner, dict):
        return False
    if kind == "text":
        return bool(inner.get("content"))
    if kind == "markdown":
        if path == "/wecom":
            return bool(inner.get("content"))
        return bool(inner.get("title")) and bool(inner.get("text"))
    return False
