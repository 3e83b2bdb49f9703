"""Run LabHosts as a background process (for the CLI): it writes hosts.json when every host listens."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mgc_iac.errors import ConfigError
from mgc_iac.lab.hosts._hosts import LabHosts
from mgc_iac.lab.hosts._spec import load_hosts_spec


async def serve(seed: Path, workdir: Path) -> None:
    """Start the seed's hosts, publish hosts.json, run until SIGTERM/SIGINT."""
    lab = LabHosts(load_hosts_spec(seed), workdir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with lab:
        lab.write_inventory(workdir / "hosts.json")
        await stop.wait()
    (workdir / "hosts.json").unlink(missing_ok=True)


class LabHostsProcess:
    """A `python -m mgc_iac.lab.hosts` child; `inventory` is its hosts.json once it is up."""

    def __init__(self, seed: str | Path, workdir: str | Path) -> None:
        self.seed = Path(seed).resolve()
        self.workdir = Path(workdir).resolve()
        self.proc: subprocess.Popen[bytes] | None = None
        self.inventory: dict[str, dict[str, object]] = {}

    def start(self, timeout: float = 60.0) -> dict[str, dict[str, object]]:
        self.workdir.mkdir(parents=True, exist_ok=True)
        ready = self.workdir / "hosts.json"
        ready.unlink(missing_ok=True)
        log = (self.workdir / "lab-hosts.log").open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "mgc_iac.lab.hosts", "serve", str(self.seed),
                                      str(self.workdir)], stdout=log, stderr=log, env=dict(os.environ))
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"lab hosts did not start; see {self.workdir / 'lab-hosts.log'}")
            time.sleep(0.05)
        self.inventory = json.loads(ready.read_text())
        return self.inventory

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
