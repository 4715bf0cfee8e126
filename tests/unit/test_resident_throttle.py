"""The resident page's rate books: a token bucket per key, bounded, with time as an argument."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.resident_throttle import ALLOWED, RateBook, ResidentThrottle

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_key_gets_its_limit_at_once_then_waits_for_a_token():
    """30 a minute: 30 in a burst, the 31st waits 2 s; after 2 s one more, not two."""
    book = RateBook(30, 60)
    assert all(book.hit("h1", T0) is ALLOWED for _ in range(30))
    refused = book.hit("h1", T0)
    assert refused and refused.wait == 2
    assert book.hit("h1", at(2)) is ALLOWED
    assert book.hit("h1", at(2))


def test_a_refusal_is_first_only_once_until_the_key_is_allowed_again():
    """The log line is written once per run of refusals."""
    book = RateBook(1, 60)
    book.hit("a", T0)
    assert [book.hit("a", at(1)).first_refusal for _ in range(3)] == [True, False, False]
    assert book.hit("a", at(61)) is ALLOWED
    assert book.hit("a", at(62)).first_refusal is True


def test_keys_are_counted_apart_and_a_full_bucket_does_not_overfill():
    """Another key has its own tokens; an hour's rest gives back the limit, not more."""
    book = RateBook(2, 60)
    book.hit("a", T0)
    book.hit("a", T0)
    assert book.hit("a", T0)
    assert book.hit("b", T0) is ALLOWED
    for _ in range(2):
        assert book.hit("a", at(3600)) is ALLOWED
    assert book.hit("a", at(3600))


def test_a_clock_that_goes_back_earns_nothing():
    """Time going backwards neither refills nor breaks the bucket."""
    book = RateBook(1, 60)
    book.hit("a", at(100))
    assert book.hit("a", at(50))
    assert book.hit("a", at(100))
    assert book.hit("a", at(160)) is ALLOWED


def test_the_book_is_bounded_and_forgets_the_least_recently_used_key():
    """Past max_keys, the oldest key goes: it starts afresh; a recent one keeps its count."""
    book = RateBook(1, 60, max_keys=3)
    for key in ("a", "b", "c"):
        book.hit(key, T0)
    book.hit("a", at(1))  # a is used again: b is now the oldest
    book.hit("d", at(1))
    assert len(book) == 3
    assert book.hit("b", at(2)) is ALLOWED  # forgotten, so full again
    assert book.hit("a", at(2))  # remembered: still empty


def test_check_does_not_spend_a_token():
    """check() only looks."""
    book = RateBook(1, 60)
    assert book.check("a", T0) is ALLOWED and len(book) == 0
    book.hit("a", T0)
    assert book.check("a", T0).wait == 60


def test_an_address_that_guessed_ten_times_is_refused_everything_for_a_minute():
    """Ten wrong secrets shut the address out, good links included; a minute later it may try
    once, and one more wrong guess shuts it out again; other addresses are not touched."""
    t = ResidentThrottle()
    for i in range(10):
        assert t.client("1.2.3.4", at(i)) is ALLOWED
        t.wrong_secret("1.2.3.4", at(i))
    refused = t.client("1.2.3.4", at(10))
    assert refused and 50 <= refused.wait <= 60
    assert t.client("5.6.7.8", at(10)) is ALLOWED
    assert t.client("1.2.3.4", at(70)) is ALLOWED
    t.wrong_secret("1.2.3.4", at(70))
    assert t.client("1.2.3.4", at(71))


def test_an_address_and_a_link_have_their_own_rates():
    """60 a minute per address, 30 per link."""
    t = ResidentThrottle()
    assert all(t.client("1.2.3.4", T0) is ALLOWED for _ in range(60))
    assert t.client("1.2.3.4", T0)
    assert all(t.link("h1", T0) is ALLOWED for _ in range(30))
    assert t.link("h1", T0)
    assert t.link("h2", T0) is ALLOWED


def test_a_rate_needs_a_limit_and_a_period():
    """Nonsense limits are refused when the book is made."""
    with pytest.raises(ValueError, match="limit"):
        RateBook(0, 60)
    with pytest.raises(ValueError, match="period"):
        RateBook(1, 0)
