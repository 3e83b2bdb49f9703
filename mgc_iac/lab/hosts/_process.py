"""Run LabHosts as a background process (for the CLI): it writes hosts.json when every host listens."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Literal

from mgc_iac.errors import ConfigError
from mgc_iac.lab.hosts._hosts import LabHosts
from mgc_iac.lab.hosts._spec import load_hosts_spec

FAULT_REQUEST, FAULT_DONE, SERVE_PID = "fault.json", "fault.done.json", "hosts.pid"  # the supervisor's pid file
Fault = Literal["drop", "power_off"]


def _apply_fault(lab: LabHosts, workdir: Path) -> None:
    """SIGUSR1: run the fault named in fault.json on its host, answer in fault.done.json."""
    try:
        request = json.loads((workdir / FAULT_REQUEST).read_text())
        host = lab[request["host"]]
        count = host.drop_connections() if request["fault"] == "drop" else host.power_off()
        answer = {"id": request["id"], "count": count}
    except (OSError, ValueError, KeyError) as exc:
        answer = {"id": None, "error": str(exc)}
    tmp = workdir / (FAULT_DONE + ".tmp")
    tmp.write_text(json.dumps(answer))
    tmp.replace(workdir / FAULT_DONE)


def inject_fault(workdir: str | Path, host: str, fault: Fault, timeout: float = 10.0) -> int:
    """Fault injection into a background lab hosts process (tests, demos): `drop` aborts every SSH connection to
    `host` (a network cut), `power_off` kills every process inside it (a reboot: the host answers again at once,
    with nothing running). Returns how many connections or processes it ended."""
    work = Path(workdir)
    pid = int((work / SERVE_PID).read_text())
    ident = uuid.uuid4().hex
    (work / FAULT_DONE).unlink(missing_ok=True)
    (work / FAULT_REQUEST).write_text(json.dumps({"id": ident, "host": host, "fault": fault}))
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            answer = json.loads((work / FAULT_DONE).read_text())
            if answer.get("id") == ident:
                return int(answer["count"])
            if answer.get("error"):
                raise ConfigError(f"fault {fault} on {host} failed: {answer['error']}")
        time.sleep(0.02)
    raise ConfigError(f"the lab hosts process did not run fault {fault} on {host}")


async def serve(seed: Path, workdir: Path) -> None:
    """Start the seed's hosts, publish hosts.json, run until SIGTERM/SIGINT (SIGUSR1: inject_fault)."""
    lab = LabHosts(load_hosts_spec(seed), workdir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, _apply_fault, lab, workdir)
    async with lab:
        lab.write_inventory(workdir / "hosts.json")
        await stop.wait()
    (workdir / "hosts.json").unlink(missing_ok=True)


class LabHostsProcess:
    """A `python -m mgc_iac.lab.hosts serve` child of this process (tests, benches), through the lab's supervisor;
    `inventory` is its hosts.json once it is up."""

    def __init__(self, seed: str | Path, workdir: str | Path) -> None:
        from mgc_iac.lab.supervisor import hosts_process

        self.seed = Path(seed).resolve()
        self.workdir = Path(workdir).resolve()
        self._process = hosts_process(self.workdir, self.seed, detached=False)
        self.inventory: dict[str, dict[str, object]] = {}

    def start(self, timeout: float = 60.0) -> dict[str, dict[str, object]]:
        self.inventory = self._process.start(timeout)
        return self.inventory

    def stop(self, timeout: float = 10.0) -> None:
        self._process.stop(timeout)
