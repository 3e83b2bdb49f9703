"""Load a stack: a directory of YAML files merged into one spec, or a stack.py building the same model."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from mgc_iac._gc import gc_paused
from mgc_iac.diagnostics import Diagnostics
from mgc_iac.errors import SpecError
from mgc_iac.stack.models import Stack
from mgc_iac.stack.sourcemap import SourceMap
from mgc_iac.stack.validation_errors import validation_diagnostics
from mgc_iac.stack.yaml_guard import YamlProblem, read_spec_yaml

# Files in a stack directory that are not part of the spec.
NOT_SPEC_FILES = {"approvals.yaml", "approvals.yml", "lab-seed.yaml", "lab-seed.yml"}
LIST_KEYS = ("sources", "migration_plans", "workflows")
PYTHON_STACK = "stack.py"


@dataclass(frozen=True)
class LoadedStack:
    """A validated-shape spec with where it came from."""

    stack: Stack
    directory: Path
    files: tuple[Path, ...]
    source_map: SourceMap

    @cached_property
    def canonical(self) -> dict[str, Any]:
        """The spec as plain JSON data (aliases, defaults filled in): what the digest and plans carry."""
        with gc_paused():
            return self.stack.model_dump(mode="json", by_alias=True)

    @cached_property
    def canonical_text(self) -> str:
        """The canonical spec as one JSON text (what the digest hashes; the control-character rule scans it)."""
        return canonical_text(self.canonical)

    @cached_property
    def digest(self) -> str:
        """sha256 of the canonical spec: the same for YAML and Python forms of the same stack."""
        return _text_digest(self.canonical_text)


def canonical_text(canonical: dict[str, Any]) -> str:
    """The canonical spec's one JSON text: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def spec_digest(canonical: dict[str, Any]) -> str:
    return _text_digest(canonical_text(canonical))


def _text_digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def stack_files(path: Path) -> tuple[Path, list[Path]]:
    """The stack directory and its spec files (sorted YAML, or one stack.py)."""
    if not path.exists():
        raise SpecError(_one(f"no such stack: {path}", fix="pass a stack directory or a YAML/stack.py file"))
    if path.is_file():
        return path.parent, [path]
    python_file = path / PYTHON_STACK
    yaml_files = sorted(
        p for p in path.iterdir()
        if p.suffix in (".yaml", ".yml") and p.name not in NOT_SPEC_FILES and not p.name.startswith(".")
    )
    if python_file.exists() and yaml_files:
        names = ", ".join(p.name for p in yaml_files)
        raise SpecError(_one(f"{path} holds both {PYTHON_STACK} and YAML ({names})",
                             fix="keep one form of the stack: move the other out of the directory"))
    if python_file.exists():
        return path, [python_file]
    if not yaml_files:
        raise SpecError(_one(f"{path} has no stack files",
                             fix="add YAML files (see `mgc-iac init`) or a stack.py"))
    return path, yaml_files


def load_stack(path: Path | str) -> LoadedStack:
    """Load and shape-check a stack. Raises SpecError with every problem found, each with file and line."""
    directory, files = stack_files(Path(path))
    if files[0].suffix == ".py":
        return _load_python(directory, files[0])
    with gc_paused():
        return _load_yaml(directory, files)


def _one(message: str, fix: str = "", file: str | None = None, line: int | None = None) -> Diagnostics:
    diags = Diagnostics()
    diags.error(message, fix=fix, file=file, line=line, rule="load")
    return diags


def _load_yaml(directory: Path, files: list[Path]) -> LoadedStack:
    source_map = SourceMap(root=directory)
    merged: dict[str, Any] = {}
    diags = Diagnostics()
    for file in files:
        shown = source_map.display(file)
        try:
            doc = read_spec_yaml(file)
        except YamlProblem as exc:
            diags.error(exc.message, file=shown, line=exc.line, fix=exc.fix, rule="yaml")
            continue
        except OSError as exc:
            diags.error(f"cannot read: {exc.strerror or exc}", file=shown, rule="yaml",
                        fix="a symlink loop or a missing target? point it at a real file" if exc.errno == 40
                        else "check the file's permissions")
            continue
        if doc is None:
            continue
        if not isinstance(doc, dict):
            diags.error(f"the top level must be a mapping of fields, not a {type(doc).__name__}",
                        file=shown, line=1, fix="start the file with fields such as `metadata:` or `sources:`",
                        rule="yaml")
            continue
        for key, value in doc.items():
            key = str(key)
            if key in LIST_KEYS and isinstance(value, list):
                current = merged.setdefault(key, [])
                if not isinstance(current, list):
                    continue
                source_map.add_list(key, file, len(current), len(value))
                current.extend(value)
            elif key in merged:
                first = source_map.display(source_map.keys[key])
                diags.error(f"`{key}` is defined in {first} and again here", file=shown,
                            line=_key_line(file, key),
                            path=key, fix="define it in one file only", rule="merge")
            else:
                merged[key] = value
                source_map.add_key(key, file)
    if diags.has_errors:
        raise SpecError(diags)
    if not merged:
        raise SpecError(_one("the stack is empty", file=source_map.display(files[0]),
                             fix="declare metadata, sources and workflows (see `mgc-iac init`)"))
    try:
        stack = Stack.model_validate(merged)
    except ValidationError as exc:
        raise SpecError(validation_diagnostics(exc, source_map)) from None
    return LoadedStack(stack, directory, tuple(files), source_map)


def _key_line(file: Path, key: str) -> int | None:
    _, line = SourceMap(root=file.parent, keys={key: file}).locate((key,))
    return line


def _load_python(directory: Path, file: Path) -> LoadedStack:
    """Run stack.py in a child process (mgc_iac.stack.pystack) and validate what it hands back."""
    from mgc_iac.stack.pystack import run_stack_py

    source_map = SourceMap(root=directory, python_file=file)
    data = run_stack_py(file, source_map.display(file))
    try:
        stack = Stack.model_validate(data)
    except ValidationError as exc:
        raise SpecError(validation_diagnostics(exc, source_map)) from None
    return LoadedStack(stack, directory, (file,), source_map)
