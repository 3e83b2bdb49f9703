"""Paths the data path includes and excludes, and the shell fragments that select them on a host."""

from __future__ import annotations

import shlex
from collections.abc import Iterable

DEFAULT_EXCLUDED_LINUX: tuple[str, ...] = ("/bin", "/boot", "/dev", "/home", "/etc", "/lib", "/media", "/proc",
                                           "/sbin", "/selinux", "/sys", "/usr", "/var", "/run", "/tmp")
PARTIAL_SUFFIX = ".mgc-part"


def normalize(path: str) -> str:
    """An absolute path without a trailing slash ("/" stays "/")."""
    if not path.startswith("/"):
        raise ValueError(f"path {path!r} must be absolute")
    stripped = "/" + "/".join(p for p in path.split("/") if p and p != ".")
    if "/.." in stripped + "/":
        raise ValueError(f"path {path!r} must not contain '..'")
    return stripped


def is_under(path: str, parent: str) -> bool:
    return parent == "/" or path == parent or path.startswith(parent + "/")


def find_selector(includes: Iterable[str], excludes: Iterable[str]) -> str:
    """`find` arguments: the include roots that exist, pruning the exclude subtrees (exact paths)."""
    roots = " ".join(shlex.quote(p) for p in includes)
    excl = sorted(set(excludes))
    prune = " -o ".join(f"-path {shlex.quote(p)}" for p in excl)
    prune_part = f"\\( {prune} \\) -prune -o" if prune else ""
    return f"{roots} {prune_part}"


def existing_roots_sh(includes: Iterable[str]) -> str:
    """Shell that sets $roots to the include paths that exist (find fails on a missing start path)."""
    items = " ".join(shlex.quote(p) for p in includes)
    return f'set --; for p in {items}; do [ -e "$p" ] || [ -L "$p" ] && set -- "$@" "$p"; done'
