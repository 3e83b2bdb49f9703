"""The one supervisor of the background processes this tool starts: the lab (`python -m mgc_iac.lab serve`) and
its SSH hosts (`python -m mgc_iac.lab.hosts serve`).

Each is a `Background`: a child started in its own session, its pid written here, found again through the
file it writes once it serves (lab.json, hosts.json), its output in a log whose tail explains a failed start,
stopped with SIGTERM, then SIGKILL. A file lock makes two callers find one process instead of starting two.

Who starts them: the workspace (mgc_iac.operations._workspace, lazily, once per operation) and `mgc-iac lab`
(mgc_iac.operations.lab). The cloud client never does (a config names a lab that answers already).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mgc_iac._pids import pid_alive
from mgc_iac.cloud import LAB_RUNNING
from mgc_iac.errors import ConfigError
from mgc_iac.lab.process import HOST, LabEndpoint, credentials, default_state_dir, endpoint_for, open_context

HOSTS_DIR = "hosts"


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive flock on `path` (created, parent mode 0700): two callers never start the same process."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _always(info: dict[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class Background:
    """One background process: how to start it, where it says it serves, how to tell it still does."""

    name: str                                  # in messages: "the lab", "the lab hosts"
    argv: tuple[str, ...]
    workdir: Path
    ready: str                                 # the JSON file the child writes once it serves
    log: str
    pid_file: str                              # written here, from the started child's pid
    answers: Callable[[dict[str, Any]], bool] = _always  # what the ready file says still holds (a port answers)
    detached: bool = True                      # its own session: it outlives this process

    def _path(self, name: str) -> Path:
        return self.workdir / name

    def pid(self) -> int | None:
        """The child's pid (the pid file, else the `pid` the ready file names), when it runs."""
        try:
            pid = int(self._path(self.pid_file).read_text().strip())
        except (OSError, ValueError):
            info = self._ready()
            pid = int(info["pid"]) if info and str(info.get("pid", "")).isdigit() else 0
        return pid if pid and pid_alive(pid) else None

    def _ready(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self._path(self.ready).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def running(self) -> dict[str, Any] | None:
        """What the running child wrote in its ready file, or None when it does not run (or no longer answers)."""
        if self.pid() is None:
            return None
        info = self._ready()
        return info if info is not None and self.answers(info) else None

    def start(self, timeout: float) -> dict[str, Any]:
        """Start the child; wait until its ready file is there and answers; a failed start names the log's tail."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._path(self.ready).unlink(missing_ok=True)
        with open(self._path(self.log), "ab") as log:
            proc = subprocess.Popen(list(self.argv), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                    start_new_session=self.detached, close_fds=True)
        self._path(self.pid_file).write_text(str(proc.pid))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self._ready()
            if info is not None and info.get("pid", proc.pid) == proc.pid and self.answers(info):
                return info
            if proc.poll() is not None:
                raise ConfigError(f"{self.name} exited at start (code {proc.returncode}); see "
                                  f"{self._path(self.log)}:\n{self._tail()}")
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait()
        raise ConfigError(f"{self.name} did not start within {timeout:.0f} s; see {self._path(self.log)}:\n"
                          f"{self._tail()}")

    def ensure(self, timeout: float) -> dict[str, Any]:
        """The running child, started first when none runs (one start among concurrent callers)."""
        with file_lock(self.workdir / f"{Path(self.pid_file).stem}.lock"):
            return self.running() or self.start(timeout)

    def stop(self, timeout: float = 10.0) -> bool:
        """SIGTERM, then SIGKILL after `timeout`; False when it did not run."""
        pid = self.pid()
        if pid is None:
            self._path(self.pid_file).unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            settle = time.monotonic() + 2.0
            while pid_alive(pid) and time.monotonic() < settle:
                time.sleep(0.01)
        self._path(self.pid_file).unlink(missing_ok=True)
        self._path(self.ready).unlink(missing_ok=True)
        return True

    def _tail(self, size: int = 800) -> str:
        try:
            return self._path(self.log).read_text(errors="replace")[-size:]
        except OSError:
            return ""


# ---- the lab -------------------------------------------------------------------------------------------------


def _listening(info: dict[str, Any]) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, int(info.get("port") or 0))) == 0


def lab_process(state_dir: Path, port: int = 0, seed: Path | None = None) -> Background:
    argv = [sys.executable, "-m", "mgc_iac.lab", "serve", "--dir", str(state_dir), "--port", str(port)]
    if seed is not None:
        argv += ["--seed", str(Path(seed).resolve())]
    return Background("the lab", tuple(argv), Path(state_dir), LAB_RUNNING, "lab.log", "lab.pid", _listening)


def running(state_dir: Path) -> dict[str, Any] | None:
    """{pid, port, url, project_id, region} of the lab running from this state dir, or None."""
    return lab_process(Path(state_dir)).running()


def start_background(state_dir: Path, port: int = 0, seed: Path | None = None, timeout: float = 20.0) -> LabEndpoint:
    """Start the lab detached; wait until it listens; return its endpoint."""
    credentials(Path(state_dir))  # made here, before the child reads them
    info = lab_process(Path(state_dir), port, seed).start(timeout)
    return endpoint_for(Path(state_dir), str(info["url"]))


def stop_background(state_dir: Path, timeout: float = 10.0) -> bool:
    """Stop the lab of this state dir. False if none was running."""
    return lab_process(Path(state_dir)).stop(timeout)


def ensure_lab(state_dir: Path | None = None, seed: Path | None = None, port: int = 0) -> LabEndpoint:
    """The running lab of this state dir, started in the background first if none runs. The seed is used
    when the state dir is new (or to reseed on `lab reset`); a lab with state keeps it."""
    state_dir = Path(state_dir) if state_dir is not None else default_state_dir()
    process = lab_process(state_dir, port, seed)
    info = process.running()
    if info is None:
        if seed is not None and _seed_has_hosts(seed):
            from mgc_iac.lab.requirements import require_lab_tools

            require_lab_tools()  # its hosts would fail inside a step: name what is missing before the lab starts
        credentials(state_dir)
        info = process.ensure(20.0)
    return endpoint_for(state_dir, str(info["url"]))


def _seed_has_hosts(seed: Path) -> bool:
    from mgc_iac.lab.hosts._spec import load_hosts_spec

    try:
        return bool(load_hosts_spec(seed))
    except Exception:  # noqa: BLE001 - a broken seed is reported where it is loaded, with its line
        return False


def reset_stopped(state_dir: Path) -> bool:
    """`lab reset` of a lab that does not run: wipe its store on disk and load its stored seed again (under the start
    lock: no lab starts meanwhile). False when the directory holds no lab state."""
    if not (state_dir / "lab.db").is_file():
        return False
    with file_lock(state_dir / "lab.lock"):
        lab = open_context(state_dir, None)
        try:
            lab.reset()
        finally:
            lab.store.close()
    return True


# ---- the lab hosts -------------------------------------------------------------------------------------------


def hosts_process(work: Path, seed: Path | None = None, detached: bool = True) -> Background:
    """The lab hosts of a seed's `hosts:`, served from `work` (roots kept between runs)."""
    argv = (sys.executable, "-m", "mgc_iac.lab.hosts", "serve", str(Path(seed).resolve()) if seed else "-",
            str(Path(work).resolve()))
    return Background("the lab hosts", argv, Path(work), "hosts.json", "lab-hosts.log", "hosts.pid",
                      detached=detached)


class LabHostsProcess:
    """A `python -m mgc_iac.lab.hosts serve` child of this process (tests, benches); `inventory` is its hosts.json
    once it is up."""

    def __init__(self, seed: str | Path, workdir: str | Path) -> None:
        self.seed = Path(seed).resolve()
        self.workdir = Path(workdir).resolve()
        self._process = hosts_process(self.workdir, self.seed, detached=False)
        self.inventory: dict[str, dict[str, object]] = {}

    def start(self, timeout: float = 60.0) -> dict[str, dict[str, object]]:
        self.inventory = self._process.start(timeout)
        return self.inventory

    def stop(self, timeout: float = 10.0) -> None:
        self._process.stop(timeout)


def hosts_workdir(lab_dir: Path) -> Path:
    return Path(lab_dir) / HOSTS_DIR


def running_lab_hosts(lab_dir: Path) -> dict[str, dict[str, Any]] | None:
    """hosts.json of the lab hosts running for this lab dir, or None when none run."""
    return hosts_process(hosts_workdir(lab_dir)).running()


def ensure_lab_hosts(lab_dir: Path, seed: Path, timeout: float = 60.0) -> dict[str, dict[str, Any]]:
    """The running lab hosts of `lab_dir`, started from the seed's `hosts:` when none run (the machine's programs
    they need checked first: a missing one is named, not found failing inside a step)."""
    process = hosts_process(hosts_workdir(lab_dir), seed)
    found = process.running()
    if found is not None:
        return found
    from mgc_iac.lab.requirements import require_lab_tools

    require_lab_tools()
    return process.ensure(timeout)


def stop_lab_hosts(lab_dir: Path, timeout: float = 15.0) -> bool:
    """Stop the lab hosts of this lab dir. False when none ran."""
    return hosts_process(hosts_workdir(lab_dir)).stop(timeout)


def stop_lab_all(lab_dir: Path) -> tuple[bool, bool]:
    """`mgc-iac lab down`: the lab hosts (the SMS-Agents running inside them end with them), then the lab.
    Returns (hosts stopped, lab stopped)."""
    return stop_lab_hosts(lab_dir), stop_background(Path(lab_dir))
