"""SSH client tests: golden facts need no host; connector tests use lab hosts on 127.0.0.1."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mgc_iac.lab.hosts import FilesSpec, LabHosts, LabHostSpec
from mgc_iac.lab.hosts.testing import serving


def lab_specs() -> list[LabHostSpec]:
    return [
        LabHostSpec(name="web-01", role="source", mac="fa:16:3e:00:00:01", distro="ubuntu", os_version="22.04",
                    cpus=2, memory_mb=4096, available_memory_mb=3000, files=FilesSpec(count=10, seed=3)),
        LabHostSpec(name="db-01", role="source", mac="fa:16:3e:00:00:02", distro="centos", os_version="7",
                    cpus=4, memory_mb=1024, available_memory_mb=400, load=3.9, rsync=False),
    ]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabHosts]:
    if shutil.which("bwrap") is None:  # pragma: no cover - CI installs bubblewrap (.ci/run)
        pytest.skip("bubblewrap (bwrap) is not installed: lab hosts cannot sandbox their commands")
    with serving(lab_specs(), tmp_path / "lab") as hosts:
        yield hosts
