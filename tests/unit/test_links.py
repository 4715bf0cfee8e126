"""Signed links: a path signed until a time verifies until then and not after; any change to
the path, the expiry or the signature, or another key, breaks it."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from gateway.links import KEY_BYTES, LinkKeyError, LinkSigner, expires_at, load_key

KEY = bytes(range(32))
PATH = "/api/v1/alerts/01JD3ABCDEFGHJKMNPQRSTVWXY/snapshot"
EXP = 1_763_900_000


def _parts(link: str) -> tuple[str, str, str]:
    split = urlsplit(link)
    q = parse_qs(split.query)
    return split.path, q["exp"][0], q["sig"][0]


def test_a_signed_path_verifies_until_it_expires():
    """Valid up to and including its expiry second; one second later it is not."""
    signer = LinkSigner(KEY)
    path, exp, sig = _parts(signer.sign(PATH, EXP))
    assert (path, exp) == (PATH, str(EXP)) and len(sig) == 43
    assert signer.verify(PATH, exp, sig, now=EXP - 3600)
    assert signer.verify(PATH, exp, sig, now=EXP)
    assert not signer.verify(PATH, exp, sig, now=EXP + 1)


def test_any_change_breaks_the_link():
    """Another path, a later expiry, a changed signature, another key, or nothing at all."""
    signer = LinkSigner(KEY)
    _, exp, sig = _parts(signer.sign(PATH, EXP))
    now = EXP - 10
    other = PATH.replace("01JD3", "01JD4")
    assert not signer.verify(other, exp, sig, now)
    assert not signer.verify(PATH, str(EXP + 86400), sig, now)
    assert not signer.verify(PATH, exp, sig[:-1] + ("A" if sig[-1] != "A" else "B"), now)
    assert not LinkSigner(bytes(32)).verify(PATH, exp, sig, now)
    assert not signer.verify(PATH, None, sig, now)
    assert not signer.verify(PATH, exp, None, now)
    assert not signer.verify(PATH, "soon", sig, now)
    assert not signer.verify(PATH, exp, "é" * 43, now)


def test_only_bare_absolute_paths_are_signed_and_keys_are_long():
    """A path with a query, or a relative one, is refused; so is a short key."""
    signer = LinkSigner(KEY)
    with pytest.raises(ValueError, match="bare absolute path"):
        signer.sign(PATH + "?x=1", EXP)
    with pytest.raises(ValueError, match="bare absolute path"):
        signer.sign("api/v1/alerts", EXP)
    with pytest.raises(ValueError, match="at least 32 bytes"):
        LinkSigner(b"short")


def test_expiry_is_hours_after_the_message_in_whole_seconds():
    """A link made at 03:00:00.9 UTC for 24 h expires at 03:00:00 the next day."""
    at = datetime(2026, 11, 22, 19, 0, 0, 900000, tzinfo=UTC)
    assert expires_at(at, 24) == int(datetime(2026, 11, 23, 19, 0, tzinfo=UTC).timestamp())


def test_the_key_is_made_once_readable_by_its_owner_only(tmp_path: Path):
    """First use writes 32 random bytes with mode 0600; later uses read the same key."""
    path = tmp_path / "data" / "link.key"
    key = load_key(path)
    assert len(key) == KEY_BYTES
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_key(path) == key
    path.write_bytes(b"cut")
    with pytest.raises(LinkKeyError):
        load_key(path)
