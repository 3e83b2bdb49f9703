"""Agent tests run against real lab hosts (asyncssh + bubblewrap) on 127.0.0.1: real SSH, real rsync/SFTP."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mgc_iac.lab.hosts import FilesSpec, LabHosts, LabHostSpec
from mgc_iac.lab.hosts.testing import serving

if shutil.which("bwrap") is None:  # pragma: no cover - CI installs bubblewrap (.ci/run)
    pytest.skip("bubblewrap (bwrap) is not installed: lab hosts cannot sandbox their commands",
                allow_module_level=True)

FILES = FilesSpec(count=40, sizes="mixed", seed=7, paths=("/srv/app", "/data"))


def specs() -> list[LabHostSpec]:
    return [
        LabHostSpec(name="src", role="source", mac="fa:16:3e:00:00:01", files=FILES),
        LabHostSpec(name="nrs", role="source", mac="fa:16:3e:00:00:02", rsync=False, files=FILES),
        LabHostSpec(name="tgt", role="target", mac="fa:16:3e:00:01:01"),
        LabHostSpec(name="tgt2", role="target", mac="fa:16:3e:00:01:02"),
        LabHostSpec(name="tiny", role="target", mac="fa:16:3e:00:01:03", disk_size_mb=3),
    ]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabHosts]:
    """Fresh hosts per test; `lab.loop.run_until_complete` drives a test's coroutine with the servers."""
    with serving(specs(), tmp_path / "lab") as hosts:
        yield hosts
