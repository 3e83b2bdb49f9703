"""Engine fixtures: a real lab (HTTP, signed SDK calls, SQLite) in a thread, and a copy of the demo stack."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
SEED = HERE / "lab-seed.yaml"
DEMO = HERE.parent.parent / "stacks" / "demo"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Any]:
    from mgc_iac.lab.process import LabServer

    server = LabServer(tmp_path / "lab", seed=SEED)
    endpoint = server.start()
    server.endpoint = endpoint  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def cloud_cfg(lab: Any) -> dict[str, Any]:
    return {"provider": "lab", "region": lab.endpoint.region, "lab_dir": str(lab.state_dir), "url": lab.endpoint.url}


@pytest.fixture
def cloud(lab: Any) -> Any:
    from mgc_iac.cloud import Cloud, CloudSettings

    return Cloud(CloudSettings.for_lab(lab.endpoint))


@pytest.fixture
def stack_dir(tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(DEMO, target)
    shutil.copy(SEED, target / "lab-seed.yaml")
    return target


@pytest.fixture
def store(isolated_state: Path) -> Iterator[Any]:
    from mgc_iac.state import open_store

    s = open_store(isolated_state)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def lab_dir(isolated_lab: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the CLI's background lab lives (MGC_IAC_LAB_DIR; it and its hosts are stopped after the test by
    tests/conftest.py's isolated_lab); plain output."""
    monkeypatch.setenv("NO_COLOR", "1")
    return isolated_lab
