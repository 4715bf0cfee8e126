"""The one-pass site file reader gives what PyYAML's nodes, the line walk and safe_load give."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.site.errors import SiteError
from gateway.site.sitefile import _walk, read_site_yaml
from gateway.site.yamlevents import UnusualYamlError, read_events
from tests.conftest import site_doc


def general(text: str) -> tuple[object, dict[str, int], list[SiteError]]:
    """The three-pass way: compose nodes, walk them for lines, construct the data."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        lines: dict[str, int] = {}
        errors = _walk(root, (), lines, "x.yaml", set())
        return loader.construct_document(root), lines, errors
    finally:
        loader.dispose()


def one_pass(text: str) -> tuple[object, dict[str, int], list[SiteError]]:
    loader = yaml.CSafeLoader(text)
    try:
        return read_events(loader, "x.yaml")
    finally:
        loader.dispose()


SAMPLES = [
    yaml.safe_dump(site_doc(), allow_unicode=True, sort_keys=False),
    yaml.safe_dump(site_doc(), allow_unicode=True, default_flow_style=True),
    "timezone: Asia/Shanghai\npolicy:\n  fever_celsius: 37.5\n  door_left_open_s: 0x78\n",
    "a: yes\nb: No\nc: ~\nd:\ne: '007'\nf: 007\ng: 1e3\nh: .inf\ni: 2026-11-23\n"
    'j: 2026-11-23T03:00:00+08:00\nk: 2026-11-23T03:00\nl: "quoted: yes"\nm: !!str 12\n'
    "n: !!binary aGVsbG8=\no: [1, two, {3: three}]\np: 12:30\nq: -1\nr: +2.5\n",
    "households:\n  - id: h1\n    id: h2\n    devices:\n      - {id: a, id: b}\n  - id: h3\n",
    "top:\n  x: 1\ntop:\n  y: 2\n  y: 3\n",
    "- 1\n- [a, b]\n- {k: v}\n",
    "plain scalar only\n",
]


@pytest.mark.parametrize("text", SAMPLES)
def test_one_pass_gives_the_same_data_lines_and_duplicates(text: str) -> None:
    """Same data, same line for every path, same duplicate-key errors."""
    assert one_pass(text) == general(text)


@pytest.mark.parametrize(
    "text",
    [
        "base: &b {officer: p1}\nh1:\n  <<: *b\n  id: h1\n",
        "a: &x 1\nb: *x\n",
        "a: !!set {x, y}\n",
        "a:\n  <<: {b: 1}\n",
        "a: 1\n---\nb: 2\n",
        "",
        "# only a comment\n",
        "a: !custom 1\n",
    ],
)
def test_what_it_does_not_read_is_left_to_the_general_reader(text: str) -> None:
    """Anchors, merges, tags, several or no documents: the general reader decides."""
    with pytest.raises(UnusualYamlError):
        one_pass(text)


def test_a_file_with_anchors_still_loads_with_its_lines() -> None:
    """The fallback keeps anchors and merge keys working, lines included."""
    text = (
        "staff:\n  - &p {id: p1, name: 赵, role: officer}\n"
        "households:\n  - id: h1\n    address: a\n    officer: p1\n"
    )
    doc = read_site_yaml(text, "x.yaml")
    assert doc.site.staff[0].id == "p1"
    assert doc.locator.lines["households[0].officer"] == 6


keys = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=8
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=12),
    st.sampled_from(["yes", "off", "~", "0x1F", "12:30", "2026-11-23", "1_000", "-.5", "null"]),
)
docs = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(doc=st.dictionaries(keys, docs, min_size=1, max_size=5), flow=st.booleans())
def test_one_pass_agrees_with_the_general_reader_on_any_document(doc: Any, flow: bool) -> None:
    """Whatever PyYAML writes, both readers read back alike."""
    text = yaml.safe_dump(doc, allow_unicode=True, default_flow_style=flow)
    assert one_pass(text) == general(text)
