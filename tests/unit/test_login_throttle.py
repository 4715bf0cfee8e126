"""Failed logins per client address: free at first, then a doubling wait up to a cap; a
success or a quiet quarter of an hour forgets; the book never holds more than its bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.throttle import LoginThrottle

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_three_failures_are_free_then_each_doubles_the_wait():
    """Waits after failures 1..8: 0, 0, 0, 1, 2, 4, 8, 16 seconds."""
    book = LoginThrottle()
    waits = []
    t = 0.0
    for _ in range(8):
        assert book.retry_after("10.0.0.7", at(t)) == 0
        book.failed("10.0.0.7", at(t))
        waits.append(book.retry_after("10.0.0.7", at(t)))
        t += waits[-1]
    assert waits == [0, 0, 0, 1, 2, 4, 8, 16]


def test_the_wait_is_capped_and_counts_down():
    """However many failures, at most five minutes; Retry-After shrinks as time passes."""
    book = LoginThrottle()
    t = 0.0
    for _ in range(40):
        book.failed("10.0.0.7", at(t))
        t += book.retry_after("10.0.0.7", at(t))
    book.failed("10.0.0.7", at(t))
    assert book.retry_after("10.0.0.7", at(t)) == 300
    assert book.retry_after("10.0.0.7", at(t + 299.5)) == 1
    assert book.retry_after("10.0.0.7", at(t + 300)) == 0


def test_each_address_waits_on_its_own():
    """One address's failures do not slow down another."""
    book = LoginThrottle()
    for _ in range(6):
        book.failed("10.0.0.7", at(0))
    assert book.retry_after("10.0.0.7", at(0)) > 0
    assert book.retry_after("10.0.0.8", at(0)) == 0


def test_a_success_or_a_quiet_quarter_hour_forgets_the_failures():
    """After a good login, or 15 minutes without a failure, the next failure is the first."""
    book = LoginThrottle()
    for _ in range(5):
        book.failed("a", at(0))
        book.failed("b", at(0))
    book.succeeded("a")
    assert book.failed("a", at(1)) == 1
    assert book.failed("b", at(899)) == 6
    assert book.failed("b", at(899 + 900)) == 1


def test_the_book_holds_at_most_its_bound_forgetting_the_oldest():
    """A spray from many addresses keeps max_clients entries; the newest stay."""
    book = LoginThrottle(max_clients=100)
    for i in range(1000):
        book.failed(f"10.0.{i // 256}.{i % 256}", at(i))
    assert len(book) == 100
    assert book.failed("10.0.3.231", at(1000)) == 2  # the 1000th address, still held
    assert book.failed("10.0.0.0", at(1000)) == 1  # the first, long forgotten
