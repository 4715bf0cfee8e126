"""The camera flow's bounded memory of recent keys."""

from __future__ import annotations

from gateway.camera.recent import Recent


def test_the_oldest_key_is_forgotten_past_the_limit_and_a_put_makes_a_key_newest() -> None:
    seen: Recent[str, int] = Recent(3)
    for i, key in enumerate("abc"):
        seen.put(key, i)
    seen.put("a", 9)  # now the newest
    seen.put("d", 3)
    assert len(seen) == 3 and "b" not in seen
    assert seen.get("a") == 9 and seen.get("c") == 2 and seen.get("d") == 3
    assert seen.get("b") is None
