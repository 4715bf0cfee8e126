"""Signed, expiring links for messages: a phone opens the snapshot or the alert page of an SMS
or a group-bot message without logging in, until the link expires.

A link is its path with ``?exp=<epoch seconds>&sig=<HMAC-SHA256 of path and exp>``, keyed by a
secret the gateway makes once and keeps in its data dir (mode 0600). Changing the path, the
expiry or the signature breaks it; so does a new key. No clock is read here: the caller says
when a link expires and what time it is now.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

KEY_FILE = "link.key"
"""The key's file name in the data dir."""

KEY_BYTES = 32


class LinkKeyError(Exception):
    """The key file exists but cannot be the link key; ``path`` says which file."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


def expires_at(now: datetime, hours: float) -> int:
    """The expiry (epoch seconds, whole) of a link made at ``now`` that works for ``hours``."""
    return int(now.timestamp() + hours * 3600)


class LinkSigner:
    """Signs paths with an expiry and checks them."""

    def __init__(self, key: bytes) -> None:
        if len(key) < KEY_BYTES:
            raise ValueError(f"a link key needs at least {KEY_BYTES} bytes")
        self._key = key

    def signature(self, path: str, expires: int) -> str:
        """The signature of ``path`` until ``expires`` (URL-safe base64, 43 characters)."""
        mac = hmac.new(self._key, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def sign(self, path: str, expires: int) -> str:
        """``path`` with its expiry and signature as query parameters.

        Raises:
            ValueError: ``path`` already has a query or is not absolute.
        """
        if not path.startswith("/") or "?" in path or "#" in path:
            raise ValueError(f"not a bare absolute path: {path!r}")
        return f"{path}?{urlencode({'exp': expires, 'sig': self.signature(path, expires)})}"

    def verify(self, path: str, exp: str | int | None, sig: str | None, now: float) -> bool:
        """Whether ``sig`` signs ``path`` until ``exp`` and ``now`` (epoch s) is not past it."""
        if exp is None or not sig:
            return False
        try:
            expires = int(exp)
        except ValueError:
            return False
        expected = self.signature(path, expires)
        # Compare first, in constant time, whatever the expiry: the timing says nothing.
        good = hmac.compare_digest(expected.encode(), sig.encode("utf-8", "replace"))
        return good and now <= expires


def load_key(path: Path) -> bytes:
    """The link key kept at ``path``; made (random, mode 0600) on first use.

    Raises:
        LinkKeyError: the file is there but shorter than a key.
    """
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_bytes(KEY_BYTES)
        try:
            # O_EXCL: two processes starting at once keep one key, the one written first.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_bytes()
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(key)
                f.flush()
                os.fsync(f.fileno())
    if len(key) < KEY_BYTES:
        raise LinkKeyError(path, f"holds {len(key)} bytes, a link key has {KEY_BYTES}")
    return key
