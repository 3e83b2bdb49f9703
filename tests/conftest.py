"""Shared fixtures: every test gets its own state file, and stacks are copied to tmp before use."""

from __future__ import annotations

import contextlib
import copy
import http.server
import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / "stacks" / "demo"


@pytest.fixture(autouse=True)
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing a test does is recorded in the repository's state; each test's new state is intended (a CI run of
    the suite must not refuse it: tests of that refusal unset MGC_IAC_NEW_STATE)."""
    path = tmp_path / "state" / "state.db"
    monkeypatch.setenv("MGC_IAC_STATE", str(path))
    monkeypatch.setenv("MGC_IAC_NEW_STATE", "1")
    return path


# --- labs the tests start: the CLI's background lab and its SSH hosts, stopped as `mgc-iac lab down` does ------------

LAB_PID, HOSTS_PID = "lab.pid", "hosts.pid"   # what mgc_iac.lab.supervisor writes for the lab and its hosts
_NOT_A_LAB = {"root", "site-packages", "node_modules", ".git", "__pycache__"}  # host roots, venvs: never a lab dir


def _pid_files(root: Path, depth: int = 5) -> Iterator[Path]:
    """lab.pid and hosts.pid files at most `depth` folders below `root` (links not followed)."""
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        if entry.name in (LAB_PID, HOSTS_PID) and entry.is_file(follow_symlinks=False):
            yield Path(entry.path)
        elif depth and entry.name not in _NOT_A_LAB and entry.is_dir(follow_symlinks=False):
            yield from _pid_files(Path(entry.path), depth - 1)


def lab_processes(*roots: Path) -> list[tuple[Path, int]]:
    """(pid file, pid) of every lab or lab-hosts process started under `roots` that still runs: the pid its
    supervisor wrote, alive, and naming its folder in its command line (a reused pid is someone else's)."""
    from mgc_iac._pids import pid_alive

    found, seen = [], set()
    for root in roots:
        if Path(root).is_symlink():  # pytest's `<name>current` links to a folder listed as well
            continue
        for pid_file in _pid_files(Path(root)):
            try:
                pid = int(pid_file.read_text().strip())
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except (OSError, ValueError):
                continue
            named = {os.path.realpath(os.path.join(cwd, arg)) for arg in argv if arg}
            if pid not in seen and pid != os.getpid() and pid_alive(pid) and os.path.realpath(pid_file.parent) in named:
                seen.add(pid)
                found.append((pid_file, pid))
    return found


def stop_labs(*roots: Path) -> list[str]:
    """Stop every lab and lab-hosts process started under `roots` as `mgc-iac lab down` does (the supervisor's
    SIGTERM then SIGKILL; hosts first, their SMS-Agents end with them, then the lab); what ran, as "pid file (pid)".
    The one way tests stop the labs they start (mgc_iac.lab.stop_background alone leaves the hosts running)."""
    from mgc_iac.lab.supervisor import hosts_process, lab_process

    running = sorted(lab_processes(*roots), key=lambda found: found[0].name != HOSTS_PID)
    for pid_file, _pid in running:
        folder = pid_file.parent
        (hosts_process(folder) if pid_file.name == HOSTS_PID else lab_process(folder)).stop()
    return [f"{pid_file} ({pid})" for pid_file, pid in running]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Any]:
    """A fresh lab (mgc_iac.lab.testing.RunningLab: in this process, on a free loopback port) in the test's lab dir.
    Folders whose `lab` is another thing override it (ssh, agent: lab SSH hosts; engine, pulumi: other settings)."""
    from mgc_iac.lab.testing import running_lab

    with running_lab(tmp_path / "lab") as running:
        yield running


@pytest.fixture
def cloud(lab: Any) -> Any:
    """The official-SDK clients (mgc_iac.cloud.Cloud) pointed at `lab`."""
    from mgc_iac.cloud import Cloud

    return Cloud(lab.settings)


@pytest.fixture(autouse=True)
def isolated_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A lab the test's CLI starts lives under the test's tmp dir (never ~/.mgc-iac/lab, which outlives the run and
    which another test would find), and every lab and hosts process started under that dir is stopped after it."""
    path = tmp_path / "lab"
    monkeypatch.setenv("MGC_IAC_LAB_DIR", str(path))
    yield path
    stop_labs(tmp_path)


def _left_running(roots: Iterable[Path], what: str) -> None:
    left = stop_labs(*roots)  # stopped now, so that one leak does not outlive the run; and reported
    if left:
        pytest.fail(f"{what} left lab or lab-hosts processes running (stopped now): {', '.join(left)}", pytrace=False)


@pytest.fixture(scope="module", autouse=True)
def no_lab_left_by_module(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After a module's tests and fixtures (module-scoped ones too) are done, no lab or hosts process started under
    the folders they made still runs."""
    base = tmp_path_factory.getbasetemp()
    before = set(base.iterdir())
    yield
    _left_running(set(base.iterdir()) - before, f"the tests of {request.module.__name__}")


@pytest.fixture(scope="session", autouse=True)
def no_lab_left_by_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """After the whole run (session fixtures too), no lab or hosts process started under its tmp folders runs."""
    yield
    _left_running([tmp_path_factory.getbasetemp()], "the test session")


@contextlib.contextmanager
def http_service(answer: Callable[[str], tuple[int, bytes, dict[str, str]]]) -> Iterator[str]:
    """A real HTTP service on loopback for the automated checks: `answer(path)` gives (status, body, headers)
    for each GET; yields its base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            status, body, headers = answer(self.path)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def demo_stack(tmp_path: Path) -> Path:
    """A copy of stacks/demo that a test may edit."""
    target = tmp_path / "demo"
    shutil.copytree(DEMO, target)
    return target


BASE_STACK: dict[str, Any] = {
    "apiVersion": "mgc-iac/v1",
    "kind": "MigrationStack",
    "metadata": {"name": "t", "project": "p"},
    "sources": [
        {"name": "web-01", "ip": "192.168.1.10", "mac": "fa:16:3e:00:00:01", "os": "linux", "cpus": 2,
         "memory_mb": 4096, "disks": [{"device": "/dev/vda", "size_gb": 40, "used_gb": 12}], "application": "shop"},
        {"name": "db-01", "ip": "192.168.1.11", "mac": "fa:16:3e:00:00:02", "os": "linux", "cpus": 4,
         "memory_mb": 8192, "disks": [{"device": "/dev/vda", "size_gb": 40, "used_gb": 10},
                                      {"device": "/dev/vdb", "size_gb": 200, "used_gb": 60}],
         "application": "shop"},
    ],
    "migration_plans": [{"name": "wave-1", "servers": ["web-01", "db-01"]}],
    "workflows": [{
        "name": "shop-wave-1",
        "source": {"application": "shop"},
        "target": {"region": "cn-north-4", "project": "cn-north-4", "vpc": "vpc-shop", "subnet": "subnet-shop",
                   "security_group": "sg-shop"},
        "encryption": {"enabled": True, "key_alias": "evs/default"},
        "advanced": {"tags": {"owner": "platform"}},
    }],
}


@pytest.fixture
def base() -> dict[str, Any]:
    """A valid stack as plain data, to mutate in a test."""
    return copy.deepcopy(BASE_STACK)


def write_stack(directory: Path, data: dict[str, Any], filename: str = "stack.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / filename).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return directory


@pytest.fixture
def make_stack(tmp_path: Path):
    """make_stack(data) writes data as a one-file YAML stack under tmp and returns its directory."""
    counter = iter(range(1000))

    def make(data: dict[str, Any], filename: str = "stack.yaml") -> Path:
        return write_stack(tmp_path / f"stack{next(counter)}", data, filename)

    return make


# --- PostgreSQL state (issue 11): one real server per test session, a fresh database per test -----------------

@contextlib.contextmanager
def local_postgres() -> Iterator[Any]:
    """A real PostgreSQL server on loopback (Debian's binaries, run as the postgres user), without durability (a
    test's data need not survive a crash of the machine), stopped on exit."""
    from mgc_iac.state.pg_local import LocalPostgres

    server = LocalPostgres(settings={"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Any]:
    """One PostgreSQL server for the session (local_postgres)."""
    with local_postgres() as server:
        yield server


@pytest.fixture
def pg_url(pg_server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database's URL (no password in it); the password is in PGPASSWORD, as on a CI runner."""
    monkeypatch.setenv("PGPASSWORD", pg_server.password)
    return pg_server.create_database()
