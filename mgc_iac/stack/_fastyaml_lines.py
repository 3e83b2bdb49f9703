"""The plain block YAML that stacks are written in, read line by line without libyaml's event objects.

libyaml parses a 10k-server stack in 0.07 s, but handing each event to Python as an object costs 0.3 s more.
Most stack files use a small part of YAML: block mappings and sequences by indentation, one-line plain or
quoted scalars, one-line flow collections of those, comments. `read_simple` reads exactly that part and
raises NotSimple at the first line outside it (anchors, tags, block scalars, multi-line values, tabs,
non-ASCII text, a repeated key, anything unusual), so the caller reads the file again with libyaml: whatever
this module returns is what PyYAML's safe loader returns (tests/test_fastyaml.py compares them, also on
generated documents). Plain scalars are resolved by the caller (`scalar(text)`), with PyYAML's resolver.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Scalar = Callable[[str], Any]  # a plain scalar's text -> its value (quoted scalars are always strings)
MAX_DEPTH = 64  # deeper documents go to libyaml (no recursion limit reached here)
MAX_KEY = 1000  # libyaml refuses an implicit key longer than 1024 characters
# entries a cache of seen lines or tokens keeps before it starts over: a big stack's repeats (os, disks, facts)
# come back at once, its unique lines (names, IPs, MACs) would grow the caches past the CPU's cache at 100k
CACHE_LIMIT = 4096

_PRINTABLE = b"\n" + bytes(range(0x20, 0x7F))  # outside it (tabs, control characters, non-ASCII): libyaml decides
# content lines (blank and comment lines skipped): their bodies, then their indents, by one pattern with its group
# moved, so both lists line up without a (indent, body) tuple and an indent string kept per line (166 MB at 100k)
_LINE_BODY = re.compile(r"^ *([^ #\n][^\n]*)$", re.MULTILINE)
_LINE_INDENT = re.compile(r"^( *)[^ #\n][^\n]*$", re.MULTILINE)
# A plain scalar never starts with an indicator; `: ` and ` #` end it; flow indicators and quotes are left to
# libyaml anywhere in it (so are `:` in flow context and a `-` not followed by a plain character).
_REST = r"[^\s#:,\[\]{}'\"]"
_FIRST = rf"(?:[A-Za-z0-9_./~+=()$^<;\\]|-(?={_REST}))"
_QUOTED = r"'(?:[^']|'')*'|\"[^\"\\]*\""
_BLOCK = rf"{_QUOTED}|{_FIRST}{_REST}*(?:(?::| +){_REST}+)*"  # a scalar token on a block line
_FLOW = rf"{_QUOTED}|{_FIRST}{_REST}*(?: +{_REST}+)*"  # in a flow collection, and a key: no `:` at all
_TAIL = r"(?: +#.*| *)$"
_KEY = re.compile(rf"({_FLOW}):(?: +|$)")
_KEY_VALUE = re.compile(rf"({_FLOW}): +({_BLOCK}){_TAIL}")  # the most common line, in one match
_BLOCK_VALUE = re.compile(rf"({_BLOCK}){_TAIL}")
_FLAT_MAPPING = re.compile(rf"\{{ *((?:{_FLOW}): +(?:{_FLOW})(?: *, *(?:{_FLOW}): +(?:{_FLOW}))*)? *\}}{_TAIL}")
_FLAT_SEQUENCE = re.compile(rf"\[ *((?:{_FLOW})(?: *, *(?:{_FLOW}))*)? *\]{_TAIL}")
_PAIR = re.compile(rf"({_FLOW}): +({_FLOW})")
_TOKEN = re.compile(_FLOW)
_FLOW_VALUE = re.compile(rf" *({_FLOW}) *")
_FLOW_TAIL = re.compile(_TAIL)
_DASH = re.compile(r"-( +)")


class NotSimple(Exception):
    """The file uses YAML beyond the plain block subset: read it with libyaml instead."""


def read_simple(text: str, scalar: Scalar) -> Any:
    """The document's data, or NotSimple."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if not text.isascii() or text.encode().translate(None, _PRINTABLE) or _has_markers(text):
        raise NotSimple  # characters libyaml checks, or document markers
    bodies = _LINE_BODY.findall(text)
    if not bodies or max(map(len, bodies)) > MAX_KEY:
        raise NotSimple  # an empty document; a line long enough to hold a key libyaml refuses
    reader = _Reader(list(map(len, _LINE_INDENT.findall(text))), bodies, scalar)
    data, end = reader.node(0, reader.indents[0], 0)
    if end != len(bodies):
        raise NotSimple  # a line indented less than the document's first one
    return data


class _Values(dict):
    """token -> value, each distinct token read once (a big stack repeats its values): 'single' or "double"
    quoted (always a string), or plain (resolved by `scalar`)."""

    def __init__(self, scalar: Scalar) -> None:
        super().__init__()
        self.scalar = scalar

    def __missing__(self, token: str) -> Any:
        first = token[0]
        if first == "'":
            value = token[1:-1].replace("''", "'")
        elif first == '"':
            value = token[1:-1]
        else:
            value = self.scalar(token)
        if len(self) >= CACHE_LIMIT:
            self.clear()
        self[token] = value
        return value


class _Reader:
    def __init__(self, indents: list[int], bodies: list[str], scalar: Scalar) -> None:
        self.indents, self.bodies, self.scalar = indents, bodies, scalar
        self.values = _Values(scalar)
        # a big stack repeats whole lines (`os: linux`, its facts, its disks): each distinct one is matched once
        self.pairs: dict[str, tuple[Any, Any]] = {}  # `key: scalar` line -> (key, value), both immutable
        self.keyed: dict[str, tuple[Any, str]] = {}  # `key: {flow}` line -> (key, the flow text)
        self.flows: dict[str, tuple[bool, tuple[Any, ...]]] = {}  # flat flow text -> (mapping?, its items)

    def node(self, i: int, indent: int, depth: int) -> tuple[Any, int]:
        """The block node whose first line is line i, at `indent`."""
        if depth > MAX_DEPTH:
            raise NotSimple
        if _DASH.match(self.bodies[i]):
            return self.sequence(i, indent, depth)
        return self.mapping(i, indent, depth)

    def mapping(self, i: int, indent: int, depth: int) -> tuple[dict[Any, Any], int]:
        indents, bodies, values, out = self.indents, self.bodies, self.values, {}
        pairs, keyed = self.pairs, self.keyed
        count, keys = len(indents), 0
        while i < count and indents[i] == indent:
            body = bodies[i]
            i += 1
            keys += 1
            pair = pairs.get(body)
            if pair is not None:  # a `key: scalar` line seen before
                out[pair[0]] = pair[1]
                continue
            flow = keyed.get(body)
            if flow is not None:  # a `key: {flow}` line seen before: a new collection each time
                out[flow[0]] = self.inline(flow[1])
                continue
            match = _KEY_VALUE.match(body)
            if match is not None:  # key: scalar
                key, value = values[match[1]], values[match[2]]
                if len(pairs) >= CACHE_LIMIT:
                    pairs.clear()
                pairs[body] = (key, value)
                out[key] = value
                continue
            match = _KEY.match(body)
            if match is None:
                raise NotSimple
            rest = body[match.end():]
            if rest and rest[0] != "#":
                key = values[match[1]]
                out[key] = self.inline(rest)
                if len(keyed) >= CACHE_LIMIT:
                    keyed.clear()
                keyed[body] = (key, rest)
            elif i < count and (indents[i] > indent or (indents[i] == indent and _DASH.match(bodies[i]))):
                out[values[match[1]]], i = self.node(i, indents[i], depth + 1)
            else:
                out[values[match[1]]] = self.scalar("")  # `key:` alone: null, as PyYAML resolves it
        if len(out) != keys:
            raise NotSimple  # a repeated key: libyaml's path names it with its line
        if i < count and indents[i] > indent:
            raise NotSimple  # a continuation line (a multi-line value) or a misaligned key
        return out, i

    def sequence(self, i: int, indent: int, depth: int) -> tuple[list[Any], int]:
        indents, bodies, out = self.indents, self.bodies, []
        count = len(indents)
        while i < count and indents[i] == indent and (dash := _DASH.match(body := bodies[i])) is not None:
            rest = body[dash.end():]
            if not rest or rest[0] == "#" or _DASH.match(rest):
                raise NotSimple  # an entry on the following lines, or a sequence in a sequence entry
            if _KEY.match(rest):  # a mapping that starts on the dash's line, indented where its first key is
                indents[i], bodies[i] = indent + dash.end(), rest
                value, i = self.mapping(i, indent + dash.end(), depth + 1)
            else:
                value, i = self.inline(rest), i + 1
            out.append(value)
        if i < count and indents[i] > indent:
            raise NotSimple
        return out, i

    def inline(self, text: str) -> Any:
        """A value that ends on its line: a scalar, or a flow collection."""
        known = self.flows.get(text)
        if known is not None:  # a flat flow collection seen before: its items again, in a new collection
            return dict(known[1]) if known[0] else list(known[1])
        first = text[0]
        if first == "{" and (match := _FLAT_MAPPING.match(text)) is not None:
            pairs = _PAIR.findall(match[1]) if match[1] else []
            values = self.values
            out = {values[key]: values[value] for key, value in pairs}
            if len(out) != len(pairs):
                raise NotSimple
            self._seen_flow(text, True, tuple(out.items()))
            return out
        if first == "[" and (match := _FLAT_SEQUENCE.match(text)) is not None:
            values = self.values
            items = [values[token] for token in _TOKEN.findall(match[1])] if match[1] else []
            self._seen_flow(text, False, tuple(items))
            return items
        if first in "[{":
            value, end = self.flow(text, 0, 0)
            if not _FLOW_TAIL.match(text, end):
                raise NotSimple
            return value
        match = _BLOCK_VALUE.match(text)
        if match is None:
            raise NotSimple
        return self.values[match[1]]

    def _seen_flow(self, text: str, mapping: bool, items: tuple[Any, ...]) -> None:
        if len(self.flows) >= CACHE_LIMIT:
            self.flows.clear()
        self.flows[text] = (mapping, items)

    def flow(self, text: str, pos: int, depth: int) -> tuple[Any, int]:
        """A nested flow collection opening at text[pos], and the position after it."""
        if depth > MAX_DEPTH:
            raise NotSimple
        mapping = text[pos] == "{"
        close = "}" if mapping else "]"
        out: Any = {} if mapping else []
        pos = _skip_spaces(text, pos + 1)
        if _at(text, pos) == close:
            return out, pos + 1
        while True:
            if mapping:
                token, pos = self.flow_token(text, pos)
                key = self.values[token]
                if text[pos:pos + 2] != ": " or key in out:
                    raise NotSimple
                out[key], pos = self.flow_item(text, _skip_spaces(text, pos + 2), depth)
            else:
                value, pos = self.flow_item(text, pos, depth)
                out.append(value)
            pos = _skip_spaces(text, pos)
            char = _at(text, pos)
            if char == close:
                return out, pos + 1
            if char != ",":
                raise NotSimple
            pos = _skip_spaces(text, pos + 1)
            if _at(text, pos) in ("}", "]"):
                raise NotSimple  # a trailing comma

    def flow_item(self, text: str, pos: int, depth: int) -> tuple[Any, int]:
        if _at(text, pos) in ("{", "["):
            return self.flow(text, pos, depth + 1)
        token, pos = self.flow_token(text, pos)
        return self.values[token], pos

    @staticmethod
    def flow_token(text: str, pos: int) -> tuple[str, int]:
        match = _FLOW_VALUE.match(text, pos)
        if match is None:
            raise NotSimple
        return match[1], match.end()


def _has_markers(text: str) -> bool:
    return text.startswith(("---", "...")) or "\n---" in text or "\n..." in text


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    return pos


def _at(text: str, pos: int) -> str:
    return text[pos] if pos < len(text) else ""
