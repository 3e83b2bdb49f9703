"""Where each part of a merged spec came from: field path -> file and line.

Loading keeps only which file each top-level key and list item came from; line numbers are found by
composing that one file's YAML nodes when a diagnostic needs them, so a valid 100k-server stack never
pays for node tracking.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

Loc = tuple[str | int, ...]

try:  # libyaml is ~10x faster; PyYAML wheels ship it
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - pure-Python PyYAML build
    _Loader = yaml.SafeLoader


@dataclass
class _Segment:
    file: Path
    offset: int  # index of this file's first item in the merged list
    count: int


@dataclass
class SourceMap:
    """Maps a field path of the merged document to (file, line)."""

    root: Path
    keys: dict[str, Path] = field(default_factory=dict)  # top-level mapping key -> file
    lists: dict[str, list[_Segment]] = field(default_factory=dict)  # list key -> segments
    python_file: Path | None = None
    _nodes: dict[Path, yaml.Node | None] = field(default_factory=dict, repr=False)

    def add_key(self, key: str, file: Path) -> None:
        self.keys[key] = file

    def add_list(self, key: str, file: Path, offset: int, count: int) -> None:
        self.lists.setdefault(key, []).append(_Segment(file, offset, count))
        self.keys.setdefault(key, file)

    def display(self, file: Path) -> str:
        """A path relative to the working directory when possible: what a user would click on."""
        try:
            return str(file.resolve().relative_to(Path.cwd().resolve()))
        except (ValueError, RuntimeError, OSError):  # outside the working directory, or a symlink loop
            try:
                return str(file.absolute().relative_to(Path.cwd().absolute()))
            except ValueError:
                return str(file)

    def locate(self, loc: Loc) -> tuple[str | None, int | None]:
        """File and 1-based line of the deepest existing node on `loc`."""
        if self.python_file is not None:
            return self.display(self.python_file), None
        if not loc:
            return (self.display(next(iter(self.keys.values()))) if self.keys else None), None
        top = str(loc[0])
        file = self.keys.get(top)
        local: list[str | int] = list(loc)
        if top in self.lists and len(loc) > 1 and isinstance(loc[1], int):
            for seg in self.lists[top]:
                if seg.offset <= loc[1] < seg.offset + seg.count:
                    file = seg.file
                    local[1] = loc[1] - seg.offset
                    break
        if file is None:
            return None, None
        node = self._root_node(file)
        if node is None:
            return self.display(file), None
        return self.display(file), _walk(node, local)

    def _root_node(self, file: Path) -> yaml.Node | None:
        if file not in self._nodes:
            try:
                self._nodes[file] = yaml.compose(file.read_text(encoding="utf-8"), Loader=_Loader)
            except (OSError, yaml.YAMLError):
                self._nodes[file] = None
        return self._nodes[file]


def _walk(node: yaml.Node, loc: list[str | int]) -> int:
    """Follow `loc` through YAML nodes; return the line of the deepest node found (1-based): the line of its
    key for a mapping value (a block value starts on the next line), of the item for a list entry."""
    line = node.start_mark.line + 1
    for part in loc:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if key_node.value == str(part):
                    line = key_node.start_mark.line + 1
                    nxt = value_node
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
            line = nxt.start_mark.line + 1
        if nxt is None:
            return line
        node = nxt
    return line


def format_loc(loc: Loc) -> str:
    """('workflows', 3, 'migration_port') -> 'workflows[3].migration_port'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
