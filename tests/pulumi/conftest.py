"""Fixtures for the Pulumi tests: a lab (real HTTP, signed SDK calls) and Pulumi's own dynamic-provider host
(`python -u -m pulumi.dynamic`, a subprocess of the venv's python) spoken to over gRPC."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "stacks" / "demo"
PROJECT = "mgc-iac"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Any]:
    from mgc_iac.lab.testing import running_lab

    with running_lab(tmp_path / "lab", instant_transfers=True) as running:
        yield running


@pytest.fixture
def cloud_cfg(lab: Any) -> dict[str, Any]:
    return {"provider": "lab", "region": lab.endpoint.region, "lab_dir": str(lab.server.state_dir),
            "url": lab.endpoint.url}


@pytest.fixture
def cloud(lab: Any) -> Any:
    from mgc_iac.cloud import Cloud

    return Cloud(lab.settings)


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(DEMO, target)
    return target


class Host:
    """Pulumi's dynamic-provider host on 127.0.0.1, and a ResourceProvider stub speaking to it."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        import grpc
        from pulumi.runtime.proto import provider_pb2_grpc

        self.process = process
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(self.channel).result(timeout=15)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)

    def close(self) -> None:
        self.channel.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
    """`python -u -m pulumi.dynamic` as the Pulumi engine launches it: it prints its port on the first line.
    The venv's python (sys.executable) has mgc_iac and providers installed, as Pulumi.yaml's venv must."""
    env = {**os.environ, "PULUMI_PROJECT": PROJECT, "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "provider-host.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.dynamic"], stdout=subprocess.PIPE,
                                   stderr=stderr, env=env, cwd=REPO)
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    if not line.isdigit():
        process.kill()
        process.wait(10)
        raise AssertionError(f"the provider host printed {line!r}: {log.read_text()[-2000:]}")
    running = Host(process, int(line))
    try:
        yield running
    finally:
        running.close()
