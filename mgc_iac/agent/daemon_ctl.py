"""Start, find and stop the agent daemon of one server (`python -m mgc_iac.agent.daemon RUN_DIR`).

The daemon plays the SMS-Agent of one source from this machine: it outlives the apply that started it (an
apply that stops at a gate leaves it running for the next one) and is found again through its run dir:

    <run dir>/daemon.json   what it needs, no secret (mode 0600): cloud config, SSH settings (key FILE paths,
                            password variable NAMES), target endpoint, agent install, facts to register
    <run dir>/daemon.pid    its pid            <run dir>/status.json  {state, source_id, reason}
    <run dir>/daemon.log    its log

Run dirs: `<lab dir>/agents/<stack>/<workflow>-<server>` for a lab stack, else under $MGC_IAC_AGENT_DIR
(default ~/.mgc-iac/agents). Credentials: the lab's from the lab dir's credentials file, Huawei Cloud's from
the environment the daemon inherits; never from its command line.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mgc_iac._proc import pid_alive
from mgc_iac.agent._install import AgentInstall
from mgc_iac.agent._job import TargetEndpoint
from mgc_iac.errors import ConfigError, SSHError
from mgc_iac.ssh import JumpHost, SSHSettings

CONFIG, PID, STATUS, LOG = "daemon.json", "daemon.pid", "status.json", "daemon.log"


@dataclass(frozen=True)
class DaemonConfig:
    cloud: dict[str, Any]
    source_name: str
    source: dict[str, Any]          # SSHSettings fields
    target_name: str
    target: dict[str, Any]          # SSHSettings fields
    agent: dict[str, Any]           # AgentInstall fields (target as TargetEndpoint fields)
    facts: dict[str, Any]           # mgc_iac.cloud.SourceFacts fields
    exclude: list[str] = field(default_factory=list)
    poll_seconds: float = 0.5
    check_seconds: float = 3.0

    def source_settings(self) -> SSHSettings:
        return settings_from_dict(self.source)

    def target_settings(self) -> SSHSettings:
        return settings_from_dict(self.target)

    def install(self) -> AgentInstall:
        a = dict(self.agent)
        return AgentInstall(**{**a, "target": TargetEndpoint(**a["target"])})


def settings_to_dict(s: SSHSettings) -> dict[str, Any]:
    return asdict(s)


def settings_from_dict(d: dict[str, Any]) -> SSHSettings:
    jump = d.get("jump")
    return SSHSettings(**{**d, "jump": JumpHost(**jump) if jump else None,
                          "encryption_algs": tuple(d.get("encryption_algs") or ())})


def agent_run_dir(cloud_config: dict[str, Any], stack: str, workflow: str, server: str) -> Path:
    if cloud_config.get("lab_dir"):
        base = Path(cloud_config["lab_dir"]) / "agents"
    else:
        base = Path(os.environ.get("MGC_IAC_AGENT_DIR") or Path.home() / ".mgc-iac" / "agents")
    return base / stack / f"{workflow}-{server}"




def daemon_pid(run_dir: Path) -> int | None:
    """The pid of the daemon of this run dir when it runs, else None."""
    try:
        pid = int((run_dir / PID).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def daemon_status(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / STATUS).read_text())
    except (OSError, ValueError):
        return {}


def write_status(run_dir: Path, **status: Any) -> None:
    tmp = run_dir / (STATUS + ".tmp")
    tmp.write_text(json.dumps(status))
    tmp.replace(run_dir / STATUS)


def read_config(run_dir: Path) -> DaemonConfig:
    return DaemonConfig(**json.loads((run_dir / CONFIG).read_text()))


def log_tail(run_dir: Path, chars: int = 800) -> str:
    try:
        return (run_dir / LOG).read_text(errors="replace")[-chars:]
    except OSError:
        return ""


def stop_daemon(run_dir: Path, timeout: float = 10.0) -> bool:
    """SIGTERM the daemon (SIGKILL after `timeout`); False when none ran."""
    pid = daemon_pid(run_dir)
    if pid is None:
        (run_dir / PID).unlink(missing_ok=True)  # it ended by itself (STOP/CLEAR, or its agent is gone)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)
    (run_dir / PID).unlink(missing_ok=True)
    return True


def stop_all_daemons(base: Path) -> int:
    """Stop every daemon whose run dir is under `base` (`mgc-iac lab down`: `<lab dir>/agents`)."""
    return sum(stop_daemon(p.parent) for p in sorted(base.glob(f"*/*/{PID}")))


def start_daemon(run_dir: Path, config: DaemonConfig, timeout: float = 30.0) -> tuple[int, str]:
    """Replace any daemon of this run dir with a new one; wait until it registered the source with SMS.
    Returns (pid, source id)."""
    stop_daemon(run_dir)
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (run_dir / STATUS).unlink(missing_ok=True)
    fd = os.open(run_dir / CONFIG, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(asdict(config), out, indent=2)
    with open(run_dir / LOG, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "mgc_iac.agent.daemon", str(run_dir)],
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                                close_fds=True)
    (run_dir / PID).write_text(str(proc.pid))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = daemon_status(run_dir)
        if status.get("source_id"):
            return proc.pid, str(status["source_id"])
        if proc.poll() is not None:
            raise SSHError(f"the agent daemon of {config.source_name} exited at start (code {proc.returncode}); "
                           f"see {run_dir / LOG}:\n{log_tail(run_dir)}")
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    raise ConfigError(f"the agent daemon of {config.source_name} did not register with SMS within {timeout:.0f} s; "
                      f"see {run_dir / LOG}")
