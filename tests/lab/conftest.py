"""Fixtures for the lab tests: a fresh lab (in this process, on a free loopback port) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mgc_iac.cloud import Cloud
from mgc_iac.lab.testing import RunningLab, running_lab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[RunningLab]:
    with running_lab(tmp_path / "lab") as running:
        yield running


@pytest.fixture
def cloud(lab: RunningLab) -> Cloud:
    return Cloud(lab.settings)
