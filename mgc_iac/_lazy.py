"""Packages whose public names resolve on first use (PEP 562): importing one module of the package loads no other."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any


def by_module(table: Mapping[str, str]) -> dict[str, str]:
    """A package's exports written one line per module: {"pkg.mod": "NameA NameB"} -> {"NameA": "pkg.mod", ...}."""
    return {name: module for module, names in table.items() for name in names.split()}


def lazy_exports(package: str, exports: Mapping[str, str],
                 names: Sequence[str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The package's `__getattr__` and `__dir__`: `exports` maps each public name to the module defining it."""

    def __getattr__(name: str) -> Any:  # noqa: N807 - the module-level hook's name
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:  # noqa: N807 - the module-level hook's name
        return list(names)

    return __getattr__, __dir__
