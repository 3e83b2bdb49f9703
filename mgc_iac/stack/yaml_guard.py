"""Reading one stack YAML file so that every mistake is a located, plain error (yaml_guard.read_spec_yaml).

Checked here, before any data reaches the models: the encoding (UTF-8 only: UTF-16 and other bytes are named
with their line), tabs, several documents in one file, duplicate keys in one mapping (PyYAML keeps the last
one silently), alias expansion past a bound (a "billion laughs" document is refused from its node graph,
before anything is expanded, and never echoed), and numbers Python cannot even print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mgc_iac.stack.fastyaml import DuplicateKeyError, SafeLoader, load_yaml

MAX_EXPANDED_NODES = 2_000_000  # a 100k-server stack has ~1.5M nodes; a bomb has 10^9 and more
_BOMS = {b"\xff\xfe": "UTF-16 (little-endian)", b"\xfe\xff": "UTF-16 (big-endian)"}


class YamlProblem(Exception):
    """A file that cannot be read as one spec document: message, 1-based line (when known) and fix."""

    def __init__(self, message: str, line: int | None, fix: str) -> None:
        super().__init__(message)
        self.message, self.line, self.fix = message, line, fix


def read_spec_yaml(path: Path) -> Any:
    """The file's one document as plain data; raises YamlProblem (or OSError when unreadable)."""
    raw = path.read_bytes()
    text = _decode(raw)
    try:
        return load_yaml(text, fallback=_guarded_load)
    except YamlProblem:
        raise
    except DuplicateKeyError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise YamlProblem(f"{exc.problem}: YAML would keep only the last one", line,
                          "keep one of them (merge their contents)") from None
    except yaml.MarkedYAMLError as exc:
        raise _marked(exc, text) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"malformed YAML: {exc}", None, "fix the YAML syntax") from None
    except ValueError as exc:  # int(...) past Python's digit limit in PyYAML's int constructor
        raise YamlProblem(f"a number too large to read ({str(exc)[:80]})", None,
                          "write real values: CPU counts, MB and GB are small numbers") from None


def _guarded_load(text: str) -> Any:
    """Documents with anchors, tags or several documents: composed first (aliases are shared nodes, never
    copies), checked, then constructed from the checked nodes."""
    loader = SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        _check_nodes(root)
        return loader.construct_document(root)
    finally:
        loader.dispose()


def _decode(raw: bytes) -> str:
    for bom, name in _BOMS.items():
        if raw.startswith(bom):
            raise YamlProblem(f"the file is {name}, not UTF-8", 1, "save it as UTF-8 (without a byte order mark)")
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise YamlProblem(f"byte 0x{raw[exc.start]:02x} is not UTF-8", line,
                          "save the file as UTF-8 (it may be Latin-1 or Windows-1252)") from None


def _marked(exc: yaml.MarkedYAMLError, text: str) -> YamlProblem:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark else None
    problem = str(exc.problem or exc.context or "")
    char = text[mark.index] if mark is not None and mark.index < len(text) else ""
    if char == "\t" or "'\\t'" in problem or "\\t" in problem:
        return YamlProblem("a tab character: YAML indents with spaces only", line, "replace the tab with spaces")
    if "expected a single document" in problem or "but found another document" in problem:
        return YamlProblem("the file holds several YAML documents (`---`)", line,
                           "keep one document per file: split it into several files of the stack directory")
    return YamlProblem(f"malformed YAML: {problem}", line, "fix the YAML syntax at this line")


def _check_nodes(root: Node) -> None:
    """Duplicate keys and the expanded size, computed once per shared node (linear in the file's size)."""
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:  # post-order, iterative: deep documents never hit the recursion limit
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if not done:
            if id(node) in open_nodes:
                raise YamlProblem("an alias refers to a collection that contains it", node.start_mark.line + 1,
                                  "write the values out instead of the recursive alias")
            open_nodes.add(id(node))
            if isinstance(node, MappingNode):
                _duplicates(node)
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            continue
        open_nodes.discard(id(node))
        sizes[id(node)] = min(1 + sum(sizes.get(id(c), 1) for c in children), MAX_EXPANDED_NODES + 1)
        if sizes[id(node)] > MAX_EXPANDED_NODES:
            raise YamlProblem(f"aliases (*name) expand this document past {MAX_EXPANDED_NODES:,} values",
                              node.start_mark.line + 1, "write the values out, or use fewer nested aliases")


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _duplicates(node: MappingNode) -> None:
    seen: dict[str, int] = {}
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
            continue
        line = key.start_mark.line + 1
        if key.value in seen:
            raise YamlProblem(f"duplicate key `{key.value}` (first at line {seen[key.value]}): YAML would keep "
                              "only the last one", line, "keep one of them (merge their contents)")
        seen[key.value] = line
