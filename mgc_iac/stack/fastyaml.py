"""Loading big stack files faster and in less memory, with exactly PyYAML's safe-loader results.

`yaml.load` composes the whole node tree before building any data: ~17 KB of nodes and marks per server,
1.7 GB for 100k servers, then ~3-5 us per node in a generic constructor. `load_yaml` builds plain data
straight from libyaml's events (no node tree), resolving tags with PyYAML's own resolver and building
non-string scalars with PyYAML's own constructors. Files in plain block YAML (most stacks) are first read
line by line without libyaml's event objects (`_fastyaml_lines`: 0.40 s instead of 0.65 s for 10k servers);
anything beyond that subset is read from the events. Anything unusual there (anchors and aliases, explicit
tags, merge keys, collection keys, several documents) makes it start over with `yaml.load`, so every
document loads (or fails) exactly as with the safe loader.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml
from yaml.events import (
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from mgc_iac.stack._fastyaml_lines import CACHE_LIMIT, NotSimple, read_simple

try:  # libyaml parses in C; PyYAML wheels ship it
    SafeLoader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python PyYAML build
    SafeLoader = yaml.SafeLoader

STR, MAP, SEQ = "tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"
UNUSUAL_SCALAR_TAGS = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})


class _Unusual(Exception):
    """The document needs PyYAML's composer and general constructor."""


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A key given twice in one mapping (PyYAML would keep the last one silently)."""


def load_yaml(text: str, fallback: Callable[[str], Any] | None = None) -> Any:
    """`yaml.load(text, Loader=SafeLoader)`, faster and without the node tree for plain documents; a key
    repeated in one mapping raises DuplicateKeyError. Unusual documents go to `fallback` (default yaml.load)."""
    try:
        return read_simple(text, _PlainScalars().value)
    except NotSimple:
        pass
    try:
        return _Streaming(text).document()
    except _Unusual:
        return fallback(text) if fallback else yaml.load(text, Loader=SafeLoader)


class _Streaming(SafeLoader):  # type: ignore[misc,valid-type]
    def document(self) -> Any:
        self.get_event()  # stream start
        if self.check_event(StreamEndEvent):
            return None
        self.get_event()  # document start
        data = self._value(self.get_event())
        self.get_event()  # document end
        if not self.check_event(StreamEndEvent):
            raise _Unusual  # several documents: let PyYAML raise its error
        return data

    def _value(self, event: Any) -> Any:
        cls = type(event)
        if cls is ScalarEvent:
            return self._scalar(event)
        if cls is MappingStartEvent:
            self._plain(event, MappingNode, MAP)
            out: dict[Any, Any] = {}
            while type(event := self.get_event()) is not MappingEndEvent:
                if type(event) is not ScalarEvent:
                    raise _Unusual  # a collection as a key
                key = self._scalar(event)
                # by type too (rare path): 1 and true are different keys in YAML, one key in a dict
                if key in out and any(k == key and type(k) is type(key) for k in out):
                    raise DuplicateKeyError(problem=f"duplicate key `{key}`", problem_mark=event.start_mark)
                out[key] = self._value(self.get_event())
            return out
        if cls is SequenceStartEvent:
            self._plain(event, SequenceNode, SEQ)
            items = []
            while type(event := self.get_event()) is not SequenceEndEvent:
                items.append(self._value(event))
            return items
        raise _Unusual  # an alias

    def _plain(self, event: Any, kind: type, expected: str) -> None:
        if event.anchor is not None or (event.tag not in (None, "!")):
            raise _Unusual
        if self.resolve(kind, None, event.implicit) != expected:
            raise _Unusual

    def _scalar(self, event: Any) -> Any:
        if event.anchor is not None or event.tag not in (None, "!"):
            raise _Unusual
        key = (event.value, event.implicit)
        try:  # a big stack repeats its values (os, user, sizes, true): resolve each distinct one once
            return self._resolved[key]
        except KeyError:
            pass
        except AttributeError:
            self._resolved: dict[tuple[str, Any], Any] = {}
        tag = self.resolve(ScalarNode, event.value, event.implicit)
        if tag == STR:
            value = event.value
        elif tag in UNUSUAL_SCALAR_TAGS:
            raise _Unusual
        else:  # ints, floats, bools, null, timestamps, bytes: immutable, so one object can serve every copy
            value = self.yaml_constructors[tag](self, ScalarNode(tag, event.value, event.start_mark, event.end_mark,
                                                                 event.style))
        self._resolved[key] = value
        return value


class _PlainScalars:
    """Plain scalars of the line reader, resolved and built as `_Streaming._scalar` does, each distinct one once."""

    def __init__(self) -> None:
        self.loader = SafeLoader("")
        self.resolved: dict[str, Any] = {}

    def value(self, text: str) -> Any:
        try:
            return self.resolved[text]
        except KeyError:
            pass
        tag = self.loader.resolve(ScalarNode, text, (True, False))
        if tag == STR:
            value: Any = text
        elif tag in UNUSUAL_SCALAR_TAGS:
            raise NotSimple
        else:
            try:
                value = self.loader.yaml_constructors[tag](self.loader, ScalarNode(tag, text))
            except Exception:  # noqa: BLE001 - libyaml's path raises it again, with its line
                raise NotSimple from None
        if len(self.resolved) >= CACHE_LIMIT:
            self.resolved.clear()
        self.resolved[text] = value
        return value
