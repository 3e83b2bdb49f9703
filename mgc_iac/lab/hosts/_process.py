"""LabHosts as a background process (`python -m mgc_iac.lab.hosts serve`, started by the lab's supervisor): it
writes hosts.json when every host listens, and takes faults and host requests by signal."""

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
REQUESTS = "requests"  # host requests from the lab's services (SIGUSR2): clone a target, remove a clone
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


def cloud_view(seed: Path | None, url: str) -> dict[str, object]:
    """What a lab source learns of the lab cloud at `url` (its network file's `cloud`), from the seed's `cloud:`:
    the URL answering Huawei's domain names, the region's project and the enterprise projects."""
    from mgc_iac.lab.seed import load_seed, stable_id

    try:
        account = load_seed(seed)
    except ConfigError:
        account = load_seed(None)
    return {"url": url, "region": account.region, "project_id": account.project_id,
            "projects": {account.region: account.project_id},
            "enterprise_projects": [{"id": str(p.get("id") or stable_id(account.region, "enterprise_project",
                                                                        p["name"])),
                                     "name": str(p["name"])} for p in account.enterprise_projects]}


def _lab_url(workdir: Path) -> str:
    """The URL of the lab whose state dir holds this hosts workdir (lab.json), or "" when none runs."""
    with contextlib.suppress(OSError, ValueError, KeyError):
        return str(json.loads((workdir.parent / "lab.json").read_text())["url"])
    return ""


async def _follow_lab(lab: LabHosts, seed: Path, workdir: Path, stop: asyncio.Event) -> None:
    """Keep the sources' network file on the lab's current URL (the lab may restart on another port)."""
    seen = None
    while not stop.is_set():
        url = _lab_url(workdir)
        if url != seen:
            seen = url
            lab.cloud = cloud_view(seed, url) if url else None
            lab.write_network()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def _host_requests(lab: LabHosts, workdir: Path, lock: asyncio.Lock) -> None:
    """SIGUSR2: run every pending request of requests/*.json ({op: clone|remove, host, as}), answering each
    in requests/<id>.done.json, then publish hosts.json again (one batch at a time)."""
    async with lock:
        await _run_requests(lab, workdir)


async def _run_requests(lab: LabHosts, workdir: Path) -> None:
    folder = workdir / REQUESTS
    for path in sorted(folder.glob("*.json")):
        if path.name.endswith(".done.json"):
            continue
        try:
            request = json.loads(path.read_text())
            path.unlink()
            if request["op"] == "clone":
                host = await lab.add_clone(request["host"], request["as"])
                answer = {"port": host.port}
            else:
                answer = {"removed": await lab.remove_clone(request["host"])}
        except (OSError, ValueError, KeyError) as exc:
            answer = {"error": str(exc)}
        lab.write_inventory(workdir / "hosts.json")
        done = folder / (path.stem + ".done.json")
        tmp = done.with_name(done.name + ".tmp")
        tmp.write_text(json.dumps(answer))
        tmp.replace(done)


def request_hosts(workdir: str | Path, op: Literal["clone", "remove"], host: str, name: str | None = None,
                  timeout: float = 60.0) -> dict[str, object] | None:
    """Ask a running lab hosts process to clone `host` as `name`, or to remove the clone `host`; its answer, or
    None when no lab hosts process runs for `workdir` (the lab then has no SSH host for that server)."""
    work = Path(workdir)
    try:
        pid = int((work / SERVE_PID).read_text())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    if not (work / "hosts.json").exists():  # not serving yet: its signal handlers may not be installed
        return None
    ident = uuid.uuid4().hex
    folder = work / REQUESTS
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{ident}.tmp"
    tmp.write_text(json.dumps({"op": op, "host": host, "as": name}))
    tmp.replace(folder / f"{ident}.json")
    os.kill(pid, signal.SIGUSR2)
    done = folder / f"{ident}.done.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            answer = json.loads(done.read_text())
            done.unlink(missing_ok=True)
            if answer.get("error"):
                raise ConfigError(f"the lab hosts could not {op} {host}: {answer['error']}")
            return dict(answer)
        time.sleep(0.02)
    raise ConfigError(f"the lab hosts process did not {op} {host} within {timeout:g} s")


async def serve(seed: Path, workdir: Path) -> None:
    """Start the seed's hosts, publish hosts.json, run until SIGTERM/SIGINT (SIGUSR1: inject_fault)."""
    url = _lab_url(workdir)
    lab = LabHosts(load_hosts_spec(seed), workdir, cloud_view(seed, url) if url else None)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, _apply_fault, lab, workdir)
    requests: set[asyncio.Task[None]] = set()
    lock = asyncio.Lock()

    def on_request() -> None:
        task = loop.create_task(_host_requests(lab, workdir, lock))
        requests.add(task)
        task.add_done_callback(requests.discard)

    loop.add_signal_handler(signal.SIGUSR2, on_request)
    async with lab:
        lab.write_inventory(workdir / "hosts.json")
        await _follow_lab(lab, seed, workdir, stop)
    (workdir / "hosts.json").unlink(missing_ok=True)
