"""The language host launcher (tools/pulumi/bin/pulumi-language-python) spoken to over gRPC as the engine
does, without the CLI: it prints its port first, needs no plugins, and refuses a bad project with the fix."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import language_pb2, language_pb2_grpc

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "tools" / "pulumi" / "bin" / "pulumi-language-python"


@pytest.fixture
def language() -> Iterator[Any]:
    # the engine passes its own address last; nothing calls it back in these tests
    process = subprocess.Popen([str(LAUNCHER), "127.0.0.1:9"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    assert line.isdigit(), process.stderr.read().decode() if process.stderr else line
    channel = grpc.insecure_channel(f"127.0.0.1:{line}")
    try:
        grpc.channel_ready_future(channel).result(timeout=15)
        yield language_pb2_grpc.LanguageRuntimeStub(channel)
    finally:
        channel.close()
        process.terminate()
        process.wait(10)


def _info(root: Path, venv: str | None) -> language_pb2.ProgramInfo:
    options = struct_pb2.Struct()
    if venv is not None:
        options.update({"toolchain": "pip", "virtualenv": venv})
    return language_pb2.ProgramInfo(root_directory=str(root), program_directory=str(root / "pulumi_program"),
                                    entry_point=".", options=options)


def test_the_host_needs_no_plugins_and_names_its_version(language: Any) -> None:
    from importlib import metadata

    assert list(language.GetRequiredPackages(language_pb2.GetRequiredPackagesRequest(
        info=_info(REPO, ".venv"))).packages) == []
    assert language.GetPluginInfo(empty_pb2.Empty()).version == metadata.version("mgc-iac")


def test_a_run_without_the_virtualenv_or_the_program_says_what_to_fix(language: Any, tmp_path: Path) -> None:
    request = language_pb2.RunRequest(project="mgc-iac", stack="dev", pwd=str(tmp_path), monitor_address="x",
                                      info=_info(tmp_path, ".venv"))
    reply = language.Run(request)
    assert reply.error == (f"Pulumi.yaml names the virtualenv '.venv', but {tmp_path / '.venv' / 'bin' / 'python'} "
                           "does not exist: run ./dev.sh setup (it creates .venv with mgc-iac and the Pulumi SDK)")
    (tmp_path / ".venv").symlink_to(sys.prefix)
    reply = language.Run(request)
    assert reply.error.startswith(f"no Python program at {tmp_path / 'pulumi_program'}") and not reply.bail
