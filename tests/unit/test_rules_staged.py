"""A staged mapping: reads see staged changes, install commits them, discard forgets them."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rules.staged import Staged


def test_reads_fall_through_to_the_committed_entries():
    """A staged write and a staged delete are seen; the committed entries are untouched."""
    m: Staged[str, int] = Staged({"a": 1, "b": 2})
    m["a"] = 10
    m["c"] = 3
    del m["b"]
    assert dict(m) == {"a": 10, "c": 3}
    assert len(m) == 2
    assert "b" not in m
    assert m.get("b") is None
    assert dict(m.committed()) == {"a": 1, "b": 2}


def test_install_commits_and_discard_forgets():
    """install makes the staged layer committed; a later discard changes nothing."""
    m: Staged[str, int] = Staged({"a": 1, "b": 2})
    m["a"] = 10
    del m["b"]
    m.install()
    m["z"] = 26
    m.discard()
    assert dict(m) == dict(m.committed()) == {"a": 10}
    assert m.pending == 0


def test_replace_all_stages_only_what_differs():
    """Replacing with a mapping that shares objects stages the changed and removed keys only."""
    same = object()
    m: Staged[str, object] = Staged({"a": same, "b": object(), "c": object()})
    new = {"a": same, "b": object()}
    m.replace_all(new)
    assert m.pending == 2  # b changed, c removed
    assert dict(m) == new


OPS = st.lists(
    st.tuples(st.sampled_from(["set", "del", "install", "discard"]), st.integers(0, 5)),
    max_size=40,
)


@given(OPS)
def test_it_behaves_like_a_dict_committed_on_install(ops: list[tuple[str, int]]):
    """Against a model of two dicts, every sequence of operations reads the same."""
    m: Staged[int, int] = Staged()
    committed: dict[int, int] = {}
    current: dict[int, int] = {}
    for i, (op, key) in enumerate(ops):
        if op == "set":
            m[key] = current[key] = i
        elif op == "del" and key in current:
            del m[key]
            del current[key]
        elif op == "install":
            m.install()
            committed = dict(current)
        elif op == "discard":
            m.discard()
            current = dict(committed)
        assert dict(m) == current
        assert len(m) == len(current)
        assert dict(m.committed()) == committed


def test_get_answers_from_the_staged_layer_then_the_committed_entries():
    """get sees a staged value, a staged removal (the default) and a committed value."""
    m: Staged[str, int] = Staged({"a": 1, "b": 2})
    m["a"] = 10
    del m["b"]
    assert m.get("a") == 10
    assert m.get("b") is None and m.get("b", -1) == -1
    m.discard()
    assert m.get("b") == 2 and m.get("z", 0) == 0
