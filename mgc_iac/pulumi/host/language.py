"""The LanguageRuntime gRPC server the Pulumi engine starts as `pulumi-language-python ENGINE_ADDRESS`.

Protocol (pulumi/proto/pulumi/language.proto, the SDK's language_pb2): the plugin listens on 127.0.0.1 and
prints its port as the first line of stdout; the engine then asks for the required plugins (none: the
dynamic provider `pulumi-python` is one the engine looks up next to itself or on PATH) and calls Run once
per preview or update. Run starts program_runner.py with the project's virtualenv (Pulumi.yaml
`runtime.options.virtualenv`, relative to the project root) and answers when the program has registered
everything. Methods not written here answer UNIMPLEMENTED, which the engine treats as "not supported".
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from concurrent import futures
from importlib import metadata
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format
from pulumi.runtime.proto import language_pb2, language_pb2_grpc, plugin_pb2

from mgc_iac.pulumi.host.program_runner import REPORTED

RUNNER = Path(__file__).resolve().parent / "program_runner.py"


class ProgramError(Exception):
    """The program cannot be started (no virtualenv, no entry point): a message for the user."""


def program_python(info: language_pb2.ProgramInfo | None, fallback_root: str) -> str:
    """The interpreter of the project's virtualenv, or python3 on PATH when Pulumi.yaml names none."""
    options = json_format.MessageToDict(info.options) if info is not None and info.HasField("options") else {}
    venv = options.get("virtualenv")
    if not venv:
        return os.environ.get("PULUMI_PYTHON_CMD") or "python3"
    root = Path((info.root_directory if info is not None else "") or fallback_root)
    path = Path(venv) if Path(venv).is_absolute() else root / venv
    python = path / "bin" / "python"
    if not python.exists():
        raise ProgramError(f"Pulumi.yaml names the virtualenv {venv!r}, but {python} does not exist: "
                           "run ./dev.sh setup (it creates .venv with mgc-iac and the Pulumi SDK)")
    return str(python)


def program_path(request: language_pb2.RunRequest) -> str:
    """The program to run: `main` of Pulumi.yaml (a file, or a directory with __main__.py)."""
    info = request.info if request.HasField("info") else None
    if info is not None and info.program_directory:
        path = Path(info.program_directory) / (info.entry_point or ".")
    else:
        path = Path(request.pwd or ".") / (request.program or ".")
    if not (path.is_file() or (path / "__main__.py").is_file()):
        raise ProgramError(f"no Python program at {path} (Pulumi.yaml `main`: a .py file or a directory "
                           "with __main__.py)")
    return str(path.resolve())


def runner_command(request: language_pb2.RunRequest, engine_address: str) -> tuple[list[str], dict[str, str]]:
    """The runner's argv and environment for one Run request."""
    info = request.info if request.HasField("info") else None
    root = (info.root_directory if info is not None else "") or request.pwd or os.getcwd()
    argv = [program_python(info, root), "-u", str(RUNNER), "--monitor", request.monitor_address,
            "--engine", engine_address, "--project", request.project, "--stack", request.stack,
            "--parallel", str(request.parallel), "--root-directory", root]
    if request.organization:
        argv += ["--organization", request.organization]
    if request.pwd:
        argv += ["--pwd", request.pwd]
    if request.dryRun:
        argv.append("--dry-run")
    argv += [program_path(request), *request.args]
    env = {**os.environ, "PULUMI_CONFIG": json.dumps(dict(request.config)),
           "PULUMI_CONFIG_SECRET_KEYS": json.dumps(list(request.configSecretKeys)),
           "PULUMI_PROJECT": request.project, "PULUMI_STACK": request.stack}
    return argv, env


class LanguageHost(language_pb2_grpc.LanguageRuntimeServicer):
    """Runs Pulumi Python programs for one engine."""

    def __init__(self, engine_address: str) -> None:
        self.engine_address = engine_address
        self._children: set[subprocess.Popen[bytes]] = set()
        self._guard = threading.Lock()

    def Handshake(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC method names
        if request.engine_address:
            self.engine_address = request.engine_address
        return language_pb2.LanguageHandshakeResponse()

    def GetPluginInfo(self, request: Any, context: Any) -> Any:  # noqa: N802
        # this host's own version (mgc-iac's), not the Pulumi SDK's: `pulumi about` should not name it Pulumi's
        return plugin_pb2.PluginInfo(version=metadata.version("mgc-iac"))

    def GetRequiredPlugins(self, request: Any, context: Any) -> Any:  # noqa: N802
        return language_pb2.GetRequiredPluginsResponse()

    def GetRequiredPackages(self, request: Any, context: Any) -> Any:  # noqa: N802
        return language_pb2.GetRequiredPackagesResponse()

    def RuntimeOptionsPrompts(self, request: Any, context: Any) -> Any:  # noqa: N802
        return language_pb2.RuntimeOptionsResponse()

    def About(self, request: Any, context: Any) -> Any:  # noqa: N802
        python = self._python_or_abort(request, context)
        version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"],
                                 capture_output=True, text=True, check=False).stdout.strip()
        return language_pb2.AboutResponse(executable=python, version=version)

    def GetProgramDependencies(self, request: Any, context: Any) -> Any:  # noqa: N802
        python = self._python_or_abort(request, context)
        listing = subprocess.run(
            [python, "-c", "import json, importlib.metadata as m; "
                           "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"],
            capture_output=True, text=True, check=False)
        found = json.loads(listing.stdout or "{}")
        return language_pb2.GetProgramDependenciesResponse(dependencies=[
            language_pb2.DependencyInfo(name=name, version=version) for name, version in sorted(found.items())])

    def InstallDependencies(self, request: Any, context: Any) -> Any:  # noqa: N802
        python = self._python_or_abort(request, context)
        yield language_pb2.InstallDependenciesResponse(
            stdout=f"dependencies are installed by ./dev.sh setup; using {python}\n".encode())

    def Run(self, request: Any, context: Any) -> Any:  # noqa: N802
        try:
            argv, env = runner_command(request, self.engine_address)
        except ProgramError as exc:
            return language_pb2.RunResponse(error=str(exc))
        # The program's stdout and stderr are this host's, which the engine shows as the program's output.
        child = subprocess.Popen(argv, env=env, cwd=request.pwd or None)
        with self._guard:
            self._children.add(child)
        try:
            code = child.wait()
        finally:
            with self._guard:
                self._children.discard(child)
        if code == 0:
            return language_pb2.RunResponse()
        if code == REPORTED:
            return language_pb2.RunResponse(bail=True)
        return language_pb2.RunResponse(error=f"the Python program exited with code {code}")

    def Cancel(self, request: Any, context: Any) -> Any:  # noqa: N802
        self.stop_children()
        return empty_pb2.Empty()

    def stop_children(self) -> None:
        with self._guard:
            children = list(self._children)
        for child in children:
            child.terminate()

    def _python_or_abort(self, request: Any, context: Any) -> str:
        info = request.info if request.HasField("info") else None
        try:
            return program_python(info, os.getcwd())
        except ProgramError as exc:
            context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(exc))
            raise  # abort raises; this line only satisfies the type checker


def engine_address_from(argv: list[str]) -> str:
    """The engine's address: the last positional argument (flags such as -tracing come before it)."""
    positional = [a for a in argv if not a.startswith("-")]
    if not positional:
        raise SystemExit("usage: pulumi-language-python [flags] ENGINE_ADDRESS (started by the Pulumi engine)")
    return positional[-1]


def serve(argv: list[str]) -> None:
    host = LanguageHost(engine_address_from(argv))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         options=[("grpc.max_receive_message_length", 400 * 1024 * 1024)])
    language_pb2_grpc.add_LanguageRuntimeServicer_to_server(host, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)  # the engine reads the port from our first line of stdout

    def stop(signum: int, frame: Any) -> None:
        host.stop_children()
        server.stop(grace=1)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.wait_for_termination()


if __name__ == "__main__":
    serve(sys.argv[1:])
