"""Shared fixtures: every test gets its own state file, and stacks are copied to tmp before use."""

from __future__ import annotations

import contextlib
import copy
import http.server
import shutil
import threading
from collections.abc import Callable, Iterator
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

@pytest.fixture(scope="session")
def pg_server():
    """A real PostgreSQL server on loopback (Debian's binaries, run as the postgres user), for the session."""
    from mgc_iac.state.pg_local import LocalPostgres

    server = LocalPostgres(settings={"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"})
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh database's URL (no password in it); the password is in PGPASSWORD, as on a CI runner."""
    monkeypatch.setenv("PGPASSWORD", pg_server.password)
    return pg_server.create_database()
