"""A throwaway PostgreSQL server on loopback, from Debian's `postgresql` package, for the tests and benchmarks.

PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user the package creates
(runuser). Clients authenticate with a password (scram-sha-256) given through PGPASSWORD, as a CI runner would.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

USER = "mgc"


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, else the newest /usr/lib/postgresql/N/bin (Debian's layout)."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalPostgres:
    """Start with .start(); .url(db) names a database (no password in it); .password goes in PGPASSWORD."""

    settings: dict[str, str] = field(default_factory=dict)  # extra server settings (-c name=value)
    port: int = 0
    password: str = field(default_factory=lambda: uuid.uuid4().hex)
    root: Path | None = None

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *argv], capture_output=True, text=True, check=False, timeout=120)

    def start(self) -> LocalPostgres:
        bindir = find_bindir()
        if bindir is None:
            raise RuntimeError("PostgreSQL is not installed: run ./dev.sh setup (apt-get install postgresql)")
        self.root = Path(tempfile.mkdtemp(prefix="mgc-iac-pg-"))
        data, pwfile = self.root / "data", self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(pwfile, "postgres")
        self.root.chmod(0o700)
        done = self._run(str(bindir / "initdb"), "-D", str(data), "-U", USER, "--pwfile", str(pwfile),
                         "--auth=scram-sha-256", "-E", "UTF8", "--no-instructions")
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr[-2000:]}")
        self.port = self.port or _free_port()
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server (again, after halt(): same data, same port)."""
        bindir = find_bindir()
        assert bindir is not None and self.root is not None
        options = {"listen_addresses": "127.0.0.1", "port": str(self.port), "unix_socket_directories": str(self.root),
                   "max_connections": "200", **self.settings}
        opts = " ".join(f"-c {k}={v}" for k, v in options.items())
        done = self._run(str(bindir / "pg_ctl"), "-D", str(self.root / "data"), "-l", str(self.root / "log"), "-o",
                         opts, "-w", "start")
        if done.returncode:
            log = (self.root / "log").read_text() if (self.root / "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr[-1000:]} {log[-2000:]}")

    def halt(self) -> None:
        """Stop the server and keep its data (what a database restart or an outage does to its clients)."""
        bindir = find_bindir()
        assert bindir is not None and self.root is not None
        self._run(str(bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def env(self) -> dict[str, str]:
        return {"PGPASSWORD": self.password}

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), password=self.password, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.root is None:
            return
        bindir = find_bindir()
        if bindir is not None:
            self._run(str(bindir / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)
        self.root = None
