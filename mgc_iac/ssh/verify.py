"""Consistency verification, computed ON each host through its connector (the bytes are read there).

size+mtime: one `find -printf` per host. hash: sha256sum over the files, two processes in parallel
(both cores), line-buffered so their output lines never interleave.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from mgc_iac.ssh.agent import AGENT_DIR  # the agent's own files: never copied
from mgc_iac.ssh.paths import DEFAULT_EXCLUDED_LINUX, existing_roots_sh, find_selector, normalize

if TYPE_CHECKING:
    from mgc_iac.ssh._connector import Connector

Mode = Literal["size_mtime", "hash"]


@dataclass(frozen=True)
class PathDifference:
    path: str
    kind: Literal["different", "missing_on_target", "extra_on_target"]


@dataclass(frozen=True)
class VerifyResult:
    mode: Mode
    total: int
    different: int
    missing_on_target: int
    extra_on_target: int
    paths: tuple[PathDifference, ...] = field(default=())
    capped: bool = False

    @property
    def consistent(self) -> bool:
        return not (self.different or self.missing_on_target or self.extra_on_target)


def _excludes(exclude: Iterable[str], use_defaults: bool) -> list[str]:
    out = [normalize(p) for p in exclude] + [AGENT_DIR]
    if use_defaults:
        out += DEFAULT_EXCLUDED_LINUX
    return out


def hash_command(includes: Iterable[str], excludes: Iterable[str], workers: int = 2) -> str:
    """Files over 1 MiB one per sha256sum (so the workers share big files), smaller ones 256 per process."""
    sel = f"find \"$@\" {find_selector((), excludes)} -type f"
    hasher = f"xargs -0 -r -P {workers} -n %d stdbuf -oL sha256sum --"
    big = f"{sel} -size +1048576c -print0 | {hasher % 1}"
    small = f"{sel} ! -size +1048576c -print0 | {hasher % 256}"
    return f"{existing_roots_sh(includes)}; [ $# -eq 0 ] || {{ {big}; {small}; }}"


def stat_command(includes: Iterable[str], excludes: Iterable[str]) -> str:
    return (f"{existing_roots_sh(includes)}; [ $# -eq 0 ] || find \"$@\" {find_selector((), excludes)} "
            "-type f -printf '%p\\0%s %T@\\0'")


def _unescape(name: str) -> str:
    return name.replace("\\n", "\n").replace("\\\\", "\\")


def parse_hashes(raw: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in raw.decode("utf-8", "surrogateescape").splitlines():
        escaped = line.startswith("\\")
        if escaped:
            line = line[1:]
        digest, sep, name = line.partition("  ")
        if sep and len(digest) == 64:
            out[_unescape(name) if escaped else name] = digest
    return out


def parse_stats(raw: bytes) -> dict[str, str]:
    """path -> "size mtime" (whole seconds: SFTP v3 carries no sub-second mtimes)."""
    parts = raw.decode("utf-8", "surrogateescape").split("\0")
    # %T@ is cheaper for find than a formatted %Ts; the fraction is cut here
    return {p: v.partition(".")[0] for p, v in zip(parts[0:-1:2], parts[1::2], strict=False)}


async def _collect(host: Connector, command: str) -> bytes:
    chunks: list[bytes] = []
    res = await host.run(command, on_stdout=chunks.append, timeout=None)
    # find exits 1 when a file vanished or one cannot be read (files in use): those are skipped, not fatal
    if res.exit_status not in (0, 1, 123):
        res.check()
    return b"".join(chunks)


def compare(mode: Mode, source: dict[str, str], target: dict[str, str], cap: int = 100) -> VerifyResult:
    diffs: list[PathDifference] = []
    different = missing = extra = 0
    for path, value in source.items():
        other = target.get(path)
        if other is None:
            missing += 1
            diffs.append(PathDifference(path, "missing_on_target"))
        elif other != value:
            different += 1
            diffs.append(PathDifference(path, "different"))
    for path in target.keys() - source.keys():
        extra += 1
        diffs.append(PathDifference(path, "extra_on_target"))
    diffs.sort(key=lambda d: d.path)
    return VerifyResult(mode, len(source), different, missing, extra, tuple(diffs[:cap]), len(diffs) > cap)


async def verify_paths(source: Connector, target: Connector, include_paths: Iterable[str] = ("/",), *,
                 exclude_paths: Iterable[str] = (), mode: Mode = "size_mtime", default_excludes: bool = True,
                 workers: int = 2, cap: int = 100) -> VerifyResult:
    """Compare the files under include_paths minus exclude_paths (and the seed page's default excluded
    paths when default_excludes) on both hosts; both hosts compute at the same time."""
    includes = [normalize(p) for p in include_paths]
    excludes = _excludes(exclude_paths, default_excludes)
    command = hash_command(includes, excludes, workers) if mode == "hash" else stat_command(includes, excludes)
    parse = parse_hashes if mode == "hash" else parse_stats
    src_raw, dst_raw = await asyncio.gather(_collect(source, command), _collect(target, command))
    return compare(mode, parse(src_raw), parse(dst_raw), cap)
