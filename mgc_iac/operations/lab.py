"""`mgc-iac lab ...`: the embedded lab in the background, and what it holds, read through its own API.

With the workspace, the only place that starts the lab (through the lab's supervisor). `ls` reads with the
official SDK clients, as a migration reads Huawei Cloud, so a user sees what a migration created and what a crash
left behind. Nothing here prints.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mgc_iac.cloud import Cloud, CloudSettings, LabControl
from mgc_iac.errors import ConfigError


class LabNotRunningError(ConfigError):
    """No lab runs from the state directory asked about."""


KINDS = ("servers", "volumes", "tasks", "sources", "keys", "topics", "messages")


def lab_dir(given: Path | None = None) -> Path:
    """The lab's state directory: `given`, else $MGC_IAC_LAB_DIR, else ~/.mgc-iac/lab."""
    from mgc_iac.cloud import default_lab_dir

    return given or default_lab_dir()


def check_tools() -> None:
    """The machine's programs the lab's SSH hosts run (bubblewrap, rsync, ssh, sftp-server, curl, python3): a
    ConfigError naming each missing one and its package."""
    from mgc_iac.lab import require_lab_tools

    require_lab_tools()


@dataclass(frozen=True)
class LabUp:
    state_dir: Path
    endpoint: Any            # mgc_iac.lab.LabEndpoint: .url, .env() (holds the lab's SK)
    started: bool            # False: it ran already


def up(state_dir: Path | None = None, seed: Path | None = None, port: int = 0) -> LabUp:
    """The lab of `state_dir`, started in the background when none runs (seeded from `seed`)."""
    from mgc_iac.lab import ensure_lab, running

    where = lab_dir(state_dir)
    was_running = running(where) is not None
    return LabUp(where, ensure_lab(where, seed, port), not was_running)


@dataclass(frozen=True)
class LabDown:
    state_dir: Path
    hosts: bool              # its SSH hosts were stopped (with the SMS-Agents running in them)
    lab: bool                # the lab was stopped


def down(state_dir: Path | None = None) -> LabDown:
    """Stop the lab's SSH hosts, then the lab (their state stays on disk for the next `lab up` or apply)."""
    from mgc_iac.lab import stop_lab_all

    where = lab_dir(state_dir)
    hosts, lab = stop_lab_all(where)
    return LabDown(where, hosts, lab)


def _running(state_dir: Path) -> tuple[CloudSettings, dict[str, Any]]:
    """The signed-client settings of the lab running from `state_dir`, and its {pid, port, url}."""
    from mgc_iac.lab import endpoint_for, running

    info = running(state_dir)
    if info is None:
        raise LabNotRunningError(f"no lab runs from {state_dir}: start one with `mgc-iac lab up`")
    return CloudSettings.for_lab(endpoint_for(state_dir, str(info["url"]))), info


@dataclass(frozen=True)
class LabStatus:
    state_dir: Path
    url: str
    pid: int
    region: str
    project_id: str
    settings: dict[str, Any]
    faults: list[Any]


def status(state_dir: Path | None = None) -> LabStatus:
    """Where the lab runs, with which settings and faults (a ConfigError when none runs)."""
    where = lab_dir(state_dir)
    settings, info = _running(where)
    control = LabControl(settings)
    health = control.health()
    return LabStatus(where, str(info["url"]), int(info["pid"]), health["region"], health["project_id"],
                     control.settings(), list(control.faults()))


def messages(state_dir: Path | None = None) -> list[dict[str, Any]]:
    """The SMN notifications the lab received (what subscribers of the topics would get)."""
    settings, _ = _running(lab_dir(state_dir))
    return list(LabControl(settings).messages())


def check_resettable(state_dir: Path | None = None) -> Path:
    """The lab directory to reset: a running lab, or a stopped one's state on disk (else LabNotRunningError)."""
    from mgc_iac.lab import running

    where = lab_dir(state_dir)
    if running(where) is None and not (where / "lab.db").is_file():
        raise LabNotRunningError(f"no lab state in {where}: nothing to reset (a lab starts from its seed)")
    return where


def reset(state_dir: Path | None = None) -> bool:
    """Forget every server, volume, source, task and message; load the seed again. True: the running lab was reset;
    False: it was not running and its state on disk was reset."""
    from mgc_iac.lab import reset_stopped, running

    where = lab_dir(state_dir)
    if running(where) is None:
        reset_stopped(where)
        return False
    settings, _ = _running(where)
    LabControl(settings).reset()
    return True


def ls(kind: str, state_dir: Path | None = None) -> list[dict[str, Any]]:
    """The lab's `kind` (one of KINDS) as plain rows: the client's typed results (dataclasses) as dicts."""
    settings, _ = _running(lab_dir(state_dir))
    cloud = Cloud(settings)
    if kind == "servers":
        return [{**asdict(s), "volumes": len(s.volume_ids)} for s in cloud.ecs.find_servers()]
    if kind == "volumes":
        return [asdict(v) for v in cloud.evs.list_volumes()]
    if kind == "tasks":
        return [{**asdict(t), "progress": _progress(t)} for t in cloud.sms.list_tasks()]
    if kind == "sources":
        return [asdict(s) for s in cloud.sms.list_sources()]
    if kind == "keys":
        return [asdict(k) for k in cloud.kms.list_keys()]
    if kind == "topics":
        return [asdict(t) for t in cloud.smn.list_topics()]
    if kind == "messages":
        return list(LabControl(settings).messages())
    raise ConfigError(f"lab ls {kind}: one of {', '.join(KINDS)}")


def _progress(task: Any) -> str:
    if not task.total_bytes:
        return "-"
    return f"{task.replicated_bytes * 100 // task.total_bytes}% of {task.total_bytes} bytes"
