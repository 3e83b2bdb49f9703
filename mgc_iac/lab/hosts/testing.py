"""Lab hosts for tests of any part of mgc-iac: `with serving(specs, tmp_path / "lab") as hosts: ...`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mgc_iac.lab.hosts._hosts import LabHosts
from mgc_iac.lab.hosts._spec import LabHostSpec


@contextmanager
def serving(specs: list[LabHostSpec], workdir: Path) -> Iterator[LabHosts]:
    """Start the hosts on a private event loop (`hosts.loop.run_until_complete` drives a test's coroutine)."""
    loop = asyncio.new_event_loop()
    hosts = LabHosts(specs, workdir)
    loop.run_until_complete(hosts.start())
    hosts.loop = loop  # type: ignore[attr-defined]
    try:
        yield hosts
    finally:
        loop.run_until_complete(hosts.stop())
        loop.close()
        hosts.destroy()
