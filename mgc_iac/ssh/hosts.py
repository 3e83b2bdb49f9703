"""Which hosts a server's migration reaches over SSH: its source and its target (next to connect.py's cloud).

Resolution (no secret is ever read here: key FILE paths and password variable NAMES only):
- source: the spec's `ssh:` block when the source has one; else, in a `cloud.provider: lab` stack whose
  lab-seed.yaml declares `hosts:`, the lab host of the same name (role source) unless the lab's
  `instant_transfers` setting is on (then SMS finishes copies by itself and no agent is needed); else none
  (the lab's simulated agent, with `instant_transfers`).
- target: in the lab, the lab host named like the target server (role target). Every lab host answers on
  127.0.0.1 at its own port: the lab agent on a source finds it there through the lab's network file (see
  mgc_iac.lab.hosts), in place of the task's migration IP and port. The controller never copies to a target
  and never logs in to one: the agent on the source does (Huawei Cloud targets are prepared by SMS).

Lab hosts run as one background process per lab directory (`<lab dir>/hosts`, started on demand with the
stack's lab-seed.yaml, found again through hosts.json and hosts.pid, stopped by `mgc-iac lab down`).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mgc_iac.errors import ConfigError
from mgc_iac.lab.agent import TargetEndpoint
from mgc_iac.lab.requirements import require_lab_tools
from mgc_iac.lab.supervisor import file_lock, pid_alive
from mgc_iac.ssh import JumpHost, SSHSettings

LAB_SEED = "lab-seed.yaml"
HOSTS_DIR = "hosts"


# ---- lab hosts as a background process ------------------------------------------------------------------




def hosts_workdir(lab_dir: Path) -> Path:
    return Path(lab_dir) / HOSTS_DIR


def running_lab_hosts(lab_dir: Path) -> dict[str, dict[str, Any]] | None:
    """hosts.json of the lab hosts running for this lab dir, or None when none run."""
    work = hosts_workdir(lab_dir)
    try:
        pid = int((work / "hosts.pid").read_text().strip())
        inventory = json.loads((work / "hosts.json").read_text())
    except (OSError, ValueError):
        return None
    return inventory if pid_alive(pid) else None




def ensure_lab_hosts(lab_dir: Path, seed: Path, timeout: float = 60.0) -> dict[str, dict[str, Any]]:
    """The running lab hosts of `lab_dir`, started (detached, `python -m mgc_iac.lab.hosts serve`) from the
    seed's `hosts:` when none run. Roots are kept between runs, so files copied earlier are still there."""
    work = hosts_workdir(lab_dir)
    with file_lock(work / "hosts.lock"):
        found = running_lab_hosts(lab_dir)
        if found is not None:
            return found
        require_lab_tools()
        (work / "hosts.json").unlink(missing_ok=True)
        with open(work / "lab-hosts.log", "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "mgc_iac.lab.hosts", "serve", str(Path(seed).resolve()),
                                     str(work)], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=True, close_fds=True)
        (work / "hosts.pid").write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while not (work / "hosts.json").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                tail = (work / "lab-hosts.log").read_text(errors="replace")[-600:]
                raise ConfigError(f"the lab hosts did not start; see {work / 'lab-hosts.log'}:\n{tail}")
            time.sleep(0.05)
        return json.loads((work / "hosts.json").read_text())


def stop_lab_hosts(lab_dir: Path, timeout: float = 15.0) -> bool:
    """Stop the lab hosts of this lab dir (SIGTERM, then SIGKILL). False when none ran."""
    work = hosts_workdir(lab_dir)
    try:
        pid = int((work / "hosts.pid").read_text().strip())
    except (OSError, ValueError):
        return False
    if not pid_alive(pid):
        (work / "hosts.pid").unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    (work / "hosts.pid").unlink(missing_ok=True)
    (work / "hosts.json").unlink(missing_ok=True)
    return True


def stop_lab_all(lab_dir: Path) -> tuple[int, bool, bool]:
    """`mgc-iac lab down`: the lab hosts (the SMS-Agents running inside them end with them), then the lab.
    Returns (0: no agent runs on this machine any more, hosts stopped, lab stopped)."""
    from mgc_iac.lab.process import stop_background

    return 0, stop_lab_hosts(lab_dir), stop_background(Path(lab_dir))


# ---- resolving a server's hosts -------------------------------------------------------------------------


@dataclass(frozen=True)
class HostAccess:
    """How the controller reaches one host; `lab` when it is a lab host (it cannot install packages)."""

    name: str
    settings: SSHSettings
    lab: bool = False


@dataclass(frozen=True)
class TargetAccess(HostAccess):
    """The target host and the endpoint the SOURCE's agent copies to (migration IP, port, pinned host key)."""

    endpoint: TargetEndpoint | None = None


def settings_from_spec(ssh: dict[str, Any]) -> SSHSettings:
    """SSHSettings from a spec `ssh:` block (key_file is a path, password_env a variable NAME)."""
    jump = ssh.get("jump")
    extra: dict[str, Any] = {}
    if ssh.get("known_hosts"):
        extra["known_hosts"] = ssh["known_hosts"]
    return SSHSettings(host=ssh["host"], port=int(ssh.get("port") or 22), user=ssh.get("user") or "root",
                       key_file=ssh.get("key_file"), password_env=ssh.get("password_env"),
                       host_key_policy=ssh.get("host_key_policy") or "strict",
                       jump=JumpHost(**jump) if jump else None, **extra)


def _lab_settings(entry: dict[str, Any]) -> SSHSettings:
    return SSHSettings(host=str(entry["host"]), port=int(entry["port"]), user=str(entry.get("user") or "root"),
                       key_file=str(entry["key_file"]), known_hosts=str(entry["known_hosts"]))


def _seed_host_names(seed: Path) -> set[str]:
    from mgc_iac.lab.hosts import load_hosts_spec

    return {h.name for h in load_hosts_spec(seed)}


class MigrationHosts:
    """Resolves sources and targets of one stack for the engine (thread-safe; lab hosts started once)."""

    def __init__(self, spec: dict[str, Any], stack_dir: Path | None, cloud_config: dict[str, Any]) -> None:
        self.spec = spec
        self.cloud_config = cloud_config
        seed = Path(stack_dir) / LAB_SEED if stack_dir is not None else None
        lab = cloud_config.get("provider") == "lab" and cloud_config.get("lab_dir")
        self.seed = seed if lab and seed is not None and seed.is_file() else None
        self._lab_names = _seed_host_names(self.seed) if self.seed is not None else set()
        if self._lab_names:
            require_lab_tools()  # before any step runs: a missing program is named now, not inside a step
        self._inventory: dict[str, dict[str, Any]] | None = None
        self._instant: bool | None = None
        self._guard = threading.Lock()

    def _lab_hosts_used(self) -> bool:
        """Lab hosts serve the copy unless the lab finishes copies by itself (instant_transfers)."""
        if not self._lab_names:
            return False
        with self._guard:
            if self._instant is None:
                from mgc_iac.cloud import LabControl
                from mgc_iac.cloud.endpoint import settings_for

                settings = LabControl(settings_for(self.cloud_config)).settings()
                self._instant = bool(settings.get("instant_transfers"))
            return not self._instant

    @property
    def lab_dir(self) -> Path | None:
        return Path(self.cloud_config["lab_dir"]) if self.cloud_config.get("lab_dir") else None

    def _lab(self) -> dict[str, dict[str, Any]]:
        with self._guard:
            if self._inventory is None:
                assert self.seed is not None and self.lab_dir is not None
                self._inventory = ensure_lab_hosts(self.lab_dir, self.seed)
            return self._inventory

    def _source_spec(self, name: str) -> dict[str, Any]:
        return next((s for s in self.spec.get("sources", []) if s["name"] == name), {})

    def source(self, name: str) -> HostAccess | None:
        """The source host of server `name` over SSH, or None (the lab's simulated agent)."""
        ssh = self._source_spec(name).get("ssh")
        if ssh:
            return HostAccess(name, settings_from_spec(ssh))
        if name in self._lab_names and self._lab_hosts_used():
            entry = self._lab().get(name)
            if entry is not None and entry.get("role") == "source":
                return HostAccess(name, _lab_settings(entry), lab=True)
        return None

    def target_endpoint(self, target_name: str) -> TargetEndpoint | None:
        """Where a lab target answers (loopback, its own port), for the prechecks; None off the lab (the SMS
        side of a real target is Huawei's: this machine does not reach it)."""
        if target_name not in self._lab_names:
            return None
        return self.target(target_name).endpoint

    def instance(self, name: str, ip: str | None, login: dict[str, Any] | None) -> SSHSettings | None:
        """How automated checks log in to a launched instance (a target, or a clone of one): in the lab, the
        lab host of that name (a clone's host appears once SMS made the clone: hosts.json is read again); on
        Huawei Cloud, the workflow's `validation.ssh` login at the instance's IP. None: no way in."""
        if self.seed is not None and self.lab_dir is not None and self._lab_hosts_used():
            entry = self._lab().get(name)
            if entry is None:
                with self._guard:
                    self._inventory = running_lab_hosts(self.lab_dir) or self._inventory
                entry = (self._inventory or {}).get(name)
            return _lab_settings(entry) if entry is not None else None
        if login and ip:
            return settings_from_spec({**login, "host": ip})
        return None

    def target(self, target_name: str) -> TargetAccess:
        """The target host named `target_name` (a lab host of role target)."""
        if target_name in self._lab_names:
            entry = self._lab().get(target_name)
            if entry is not None and entry.get("role") == "target":
                endpoint = TargetEndpoint(host=str(entry["host"]), port=int(entry["port"]),
                                          host_key=str(entry["host_key"]), user=str(entry.get("user") or "root"))
                return TargetAccess(target_name, _lab_settings(entry), lab=True, endpoint=endpoint)
        where = f"{self.seed}" if self.seed is not None else "the stack's lab-seed.yaml (a `cloud.provider: lab` stack)"
        raise ConfigError(f"no target host {target_name!r} to copy to: declare it under `hosts:` in {where} "
                          "with role: target (the SSH data path reaches targets in the lab only)")
