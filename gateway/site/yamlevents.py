"""A site file read in one pass over libyaml's events: the data, the line of every path, and
its duplicate keys, without building PyYAML's node tree first.

Composing a 50,000-household file into nodes, walking them for lines and constructing the data
from them took three passes of Python over three million nodes. This reader builds the same
data as ``yaml.safe_load`` (same tags, same constructors, the last of two equal keys kept) and
the same lines and duplicate-key errors as the walk in :mod:`gateway.site.sitefile`, in one.

It reads plain block YAML, which is what site files are. Anything more (anchors, aliases, merge
keys, explicit tags on collections, several documents, an empty file) raises
:class:`UnusualYamlError`, and the caller reads the file the general way: same answer, slower.
"""

from __future__ import annotations

from typing import Any

import yaml

from gateway.site.errors import SiteError

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"


class UnusualYamlError(Exception):
    """The file uses YAML this reader leaves to the general one."""


def read_events(loader: Any, source: str) -> tuple[object, dict[str, int], list[SiteError]]:
    """The document of a libyaml loader's stream, its paths' lines and its duplicate keys.

    Raises:
        UnusualYamlError: the file needs the general reader (see the module's docstring).
        yaml.YAMLError: the file is not YAML (as the general reader would raise it).
    """
    if loader.yaml_path_resolvers or None in loader.yaml_implicit_resolvers:
        raise UnusualYamlError
    reader = _Reader(loader, source)
    get = loader.get_event
    if type(get()) is not yaml.StreamStartEvent or type(get()) is not yaml.DocumentStartEvent:
        raise UnusualYamlError
    first = get()
    if type(first) is yaml.DocumentEndEvent:
        raise UnusualYamlError  # an empty document
    data = reader.node(first, "", reader.lines, reader.errors)
    if type(get()) is not yaml.DocumentEndEvent or type(get()) is not yaml.StreamEndEvent:
        raise UnusualYamlError
    return data, reader.lines, reader.errors


class _Reader:
    def __init__(self, loader: Any, source: str) -> None:
        self.loader = loader
        self.get = loader.get_event
        self.source = source
        self.lines: dict[str, int] = {}
        self.errors: list[SiteError] = []
        # First characters some implicit resolver (bool, int, float, null, timestamp, merge…)
        # looks at: a plain scalar starting with any other is a string.
        self.resolvable = frozenset(loader.yaml_implicit_resolvers)

    def node(self, event: Any, path: str, lines: dict[str, int], errors: list[SiteError]) -> object:
        lines.setdefault(path, event.start_mark.line + 1)
        kind = type(event)
        if kind is yaml.ScalarEvent:
            return self.scalar(event)[1]
        if event.anchor is not None or event.tag not in (None, "!", _MAP, _SEQ):
            raise UnusualYamlError  # an alias, an anchor, or a collection with its own tag
        if kind is yaml.SequenceStartEvent:
            items: list[object] = []
            while type(item := self.get()) is not yaml.SequenceEndEvent:
                items.append(self.node(item, f"{path}[{len(items)}]", lines, errors))
            return items
        if kind is not yaml.MappingStartEvent:
            raise UnusualYamlError
        out: dict[Any, object] = {}
        first: dict[tuple[str, str], int] = {}
        get, resolvable = self.get, self.resolvable
        while (kind := type(key := get())) is not yaml.MappingEndEvent:
            if kind is not yaml.ScalarEvent:
                raise UnusualYamlError  # a complex key
            name = key.value
            if key.tag is None and key.implicit[0] and name and name[0] not in resolvable:
                tag, k = _STR, name  # the usual key: a plain word
                if key.anchor is not None:
                    raise UnusualYamlError
            else:
                tag, k = self.scalar(key)
                if tag == _MERGE:
                    raise UnusualYamlError
            line = key.start_mark.line + 1
            child = f"{path}.{name}" if path else name
            value = get()
            if (tag, name) in first:
                # As the walk did: reported, and its value not looked into; as safe_load does:
                # the last one kept.
                errors.append(
                    SiteError(
                        self.source, line, child, f"duplicate key, first on line {first[tag, name]}"
                    )
                )
                out[k] = self.node(value, child, {}, [])
                continue
            first[tag, name] = line
            lines[child] = line
            if type(value) is yaml.ScalarEvent:  # its line is the key's, just recorded
                text = value.value
                plain = value.implicit[0]
                if (
                    value.tag is None
                    and value.anchor is None
                    and (not plain or (text and text[0] not in resolvable))
                ):
                    out[k] = text  # quoted, or plain and no resolver looks at it: a string
                else:
                    out[k] = self.scalar(value)[1]
            else:
                out[k] = self.node(value, child, lines, errors)
        return out

    def scalar(self, event: Any) -> tuple[str, object]:
        """The scalar's resolved tag and its value, as the safe loader makes them."""
        if event.anchor is not None:
            raise UnusualYamlError
        tag, text = event.tag, event.value
        if tag is None or tag == "!":
            plain = event.implicit[0]
            if plain and text and text[0] not in self.resolvable:
                return _STR, text
            tag = self.loader.resolve(yaml.ScalarNode, text, event.implicit)
        if tag == _STR:
            return tag, text
        construct = self.loader.yaml_constructors.get(tag)
        if construct is None:
            raise UnusualYamlError  # an unknown tag: the general reader says why it refuses it
        node = yaml.ScalarNode(tag, text, event.start_mark, event.end_mark, event.style)
        return tag, construct(self.loader, node)
