"""Helpers of the end-to-end tests: drive the CLI of one isolated demo and look at its hosts."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


@dataclass
class Demo:
    """One isolated demo: its stack copy, its env, and helpers to drive and inspect it."""

    stack: Path
    lab_dir: Path
    env: dict[str, str]

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mgc_iac", *args], env=self.env, cwd=self.stack.parent,
                              capture_output=True, text=True, timeout=timeout)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "mgc_iac", *args], env=self.env, cwd=self.stack.parent,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def status(self) -> dict[str, dict[str, Any]]:
        out = self.cli("status", str(self.stack), "--format", "json")
        assert out.returncode == 0, out.stderr
        return {s["server"]: s for wf in json.loads(out.stdout)["workflows"] for s in wf["servers"]}

    def root(self, host: str) -> Path:
        """A lab host's filesystem root on this machine (to compare bytes; clients never see it)."""
        return self.lab_dir / "hosts" / "hosts" / host / "root"

    @property
    def hosts_dir(self) -> Path:
        return self.lab_dir / "hosts"

    def cloud(self) -> Any:
        from mgc_iac.cloud import Cloud, CloudSettings
        from mgc_iac.lab import ensure_lab

        return Cloud(CloudSettings.for_lab(ensure_lab(self.lab_dir)))

    def edit(self, name: str, change: Callable[[Any], None]) -> None:
        path = self.stack / name
        doc = yaml.safe_load(path.read_text())
        change(doc)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))


def wait_for(predicate: Callable[[], Any], timeout: float = 60, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def same_tree(a: Path, b: Path) -> list[str]:
    """Files that differ (bytes, missing, extra) between two directories; [] when the same."""
    diffs = []
    fa = {p.relative_to(a) for p in a.rglob("*") if p.is_file() and not p.is_symlink()}
    fb = {p.relative_to(b) for p in b.rglob("*") if p.is_file() and not p.is_symlink()}
    diffs += [f"missing {p}" for p in fa - fb] + [f"extra {p}" for p in fb - fa]
    diffs += [f"different {p}" for p in fa & fb if (a / p).read_bytes() != (b / p).read_bytes()]
    return sorted(diffs)


def host_processes(demo: Demo, host: str) -> list[tuple[int, str, str]]:
    """(pid, comm, command line) of the processes running inside a lab host (those whose / is its root)."""
    import os

    mine = os.stat(demo.root(host))
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            seen = os.stat(f"/proc/{entry}/root")
            if (seen.st_dev, seen.st_ino) != (mine.st_dev, mine.st_ino):
                continue
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        found.append((int(entry), comm, cmd))
    return found


def ps_on(demo: Demo, host: str) -> str:
    """`ps -eo pid,comm,args` as a user logged in to the lab host over SSH sees it."""
    import asyncio

    from mgc_iac.ssh import SSHConnector
    from mgc_iac.ssh.hosts import _lab_settings

    entry = json.loads((demo.hosts_dir / "hosts.json").read_text())[host]

    async def go() -> str:
        async with SSHConnector(_lab_settings(entry), name=host) as c:
            return (await c.run("ps -eo pid,comm,args")).check().stdout

    return asyncio.run(go())


def lab_secrets(demo: Demo) -> list[str]:
    """The lab's access key and secret key (what the agents were started with)."""
    creds = json.loads((demo.lab_dir / "credentials.json").read_text())
    return [str(v) for v in creds.values() if isinstance(v, str) and len(v) >= 16]
