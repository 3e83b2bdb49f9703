"""List a host's files (type, mode, size, mtime, owner, link target) with one find run on that host."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mgc_iac.ssh import existing_roots_sh, find_selector

if TYPE_CHECKING:
    from mgc_iac.ssh import Connector

_FIELDS = 8


@dataclass(frozen=True)
class Entry:
    path: str
    kind: str  # f file, d directory, l symlink (others are skipped)
    mode: int
    size: int
    mtime: float
    uid: int
    gid: int
    link: str

    def same_content(self, other: Entry) -> bool:
        """The quick check rsync uses: same size and same whole-second mtime."""
        return self.kind == other.kind and self.size == other.size and int(self.mtime) == int(other.mtime)


def listing_command(includes: Iterable[str], excludes: Iterable[str]) -> str:
    fmt = "%y\\0%m\\0%s\\0%T@\\0%U\\0%G\\0%p\\0%l\\0"
    return f"{existing_roots_sh(includes)}; [ $# -eq 0 ] || find \"$@\" {find_selector((), excludes)} -printf '{fmt}'"


def parse_listing(raw: bytes) -> dict[str, Entry]:
    parts = raw.split(b"\0")
    out: dict[str, Entry] = {}
    for i in range(0, len(parts) - _FIELDS + 1, _FIELDS):
        kind, mode, size, mtime, uid, gid, path, link = (p.decode("utf-8", "surrogateescape") for p in parts[i:i + 8])
        if kind not in ("f", "d", "l"):
            continue
        out[path] = Entry(path, kind, int(mode, 8), int(size), float(mtime), int(uid), int(gid), link)
    return out


async def list_tree(host: Connector, includes: Iterable[str], excludes: Iterable[str]) -> dict[str, Entry]:
    """Every file, directory and symlink under the include paths minus the excluded subtrees."""
    chunks: list[bytes] = []
    result = await host.run(listing_command(includes, excludes), on_stdout=chunks.append, timeout=3600)
    result.check()
    return parse_listing(b"".join(chunks))
