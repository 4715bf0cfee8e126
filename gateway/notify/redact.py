"""Keep webhook secrets out of logs and stored errors.

A group bot's URL is its password: WeCom puts ``key=...`` in the query, DingTalk
``access_token=...`` (and the signature), other services put tokens anywhere in the query. So
every URL that may reach a log line or the outbox's ``last_error`` keeps its scheme, host and path
and loses its query. httpx logs each request's full URL at INFO and puts it into some exception
texts; :func:`guard_logs` rewrites those records too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx

HIDDEN = "<redacted>"

# A URL with a query: everything from "?" up to whitespace, a quote or a closing bracket.
_URL_QUERY = re.compile(r"""(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'"<>?#]*)\?[^\s'"<>#)\]]*""")


def redact_url(url: str | httpx.URL) -> str:
    """The URL without its query (or userinfo), safe to log."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    query = HIDDEN if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def secrets_of(url: str) -> tuple[str, ...]:
    """The query values of ``url``: strings that must not appear in a log even without it."""
    values = (v for _k, v in parse_qsl(urlsplit(url).query, keep_blank_values=False))
    # Short values ("1", "md") are names or flags, not secrets, and would blank innocent text.
    return tuple(v for v in values if len(v) >= 6)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every URL's query and every one of ``secrets`` replaced.

    Args:
        text: A message, e.g. an exception's text.
        secrets: Strings known to be secret (a bot's key, a signing secret).

    Returns:
        The text, safe for a log line or a stored error.
    """
    text = _URL_QUERY.sub(lambda m: f"{m.group(1)}?{HIDDEN}", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, HIDDEN)
    return text


class _RedactingFilter(logging.Filter):
    """Rewrites a record whose text carries a URL query (or a known secret) before it is shown."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        clean = redact(text)
        if clean != text:
            record.msg, record.args = clean, ()
        return True


_FILTER = _RedactingFilter()

# Loggers that print URLs or SQL parameters (the outbox row's target is the webhook URL, the
# site's channels carry theirs). A filter applies to its own logger's records only, not to its
# children's, so each is named.
GUARDED_LOGGERS = (
    "httpx",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "aiosqlite",
    "sqlalchemy.engine.Engine",
)


def guard_logs() -> None:
    """Make the HTTP client's and the database drivers' loggers redact URLs (idempotent).

    They are silent at the INFO level the gateway runs at, but for httpx's request lines; at
    DEBUG they print whole URLs and SQL parameters.
    """
    for name in GUARDED_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
