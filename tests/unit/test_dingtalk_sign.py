"""The DingTalk robot signature, checked against the documented algorithm and a fixed value."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote_plus, unquote

from gateway.notify.channels.webhook import dingtalk_sign

# DingTalk's documentation uses this secret in its examples.
SECRET = "this is secret"
TIMESTAMP_MS = 1700000000001
# Computed outside Python: printf '1700000000001\nthis is secret' |
#   openssl dgst -sha256 -hmac 'this is secret' -binary | base64
EXPECTED_BASE64 = "aOZ0Y/R7BCg4xs87AcG5MYf26YmwfVRTLD0z3X+p/mM="


def test_signature_matches_a_value_computed_independently() -> None:
    """The sign of a fixed timestamp and secret is the precomputed Base64, URL-encoded."""
    assert (
        dingtalk_sign(SECRET, TIMESTAMP_MS)
        == "aOZ0Y%2FR7BCg4xs87AcG5MYf26YmwfVRTLD0z3X%2Bp%2FmM%3D"
    )
    assert unquote(dingtalk_sign(SECRET, TIMESTAMP_MS)) == EXPECTED_BASE64


def test_signature_follows_the_documented_steps() -> None:
    """timestamp + "\\n" + secret, HMAC-SHA256 keyed by the secret, Base64, then URL-encode."""
    secret = "SEC0123456789abcdef"
    timestamp = 1577262236757
    string_to_sign = str(timestamp) + "\n" + secret
    mac = hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256)
    expected = quote_plus(base64.b64encode(mac.digest()))
    assert dingtalk_sign(secret, timestamp) == expected


def test_signature_changes_with_the_timestamp_and_the_secret() -> None:
    """A replayed or forged request cannot reuse a signature."""
    assert dingtalk_sign(SECRET, TIMESTAMP_MS) != dingtalk_sign(SECRET, TIMESTAMP_MS + 1)
    assert dingtalk_sign(SECRET, TIMESTAMP_MS) != dingtalk_sign("SECother", TIMESTAMP_MS)
