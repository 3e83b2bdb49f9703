"""Which hosts a server's migration reaches over SSH: its source and its target.

Resolution (no secret is ever read here: key FILE paths and password variable NAMES only):
- source: the spec's `ssh:` block when the source has one; else, in a `cloud.provider: lab` stack whose
  lab-seed.yaml declares `hosts:`, the lab host of the same name (role source) unless the lab's
  `instant_transfers` setting is on (then SMS finishes copies by itself and no agent is needed); else none
  (the lab's simulated agent, with `instant_transfers`).
- target: in the lab, the lab host named like the target server (role target). Every lab host answers on
  127.0.0.1 at its own port: the lab agent on a source finds it there through the lab's network file (see
  mgc_iac.lab.hosts), in place of the task's migration IP and port. The controller never copies to a target
  and never logs in to one: the agent on the source does (Huawei Cloud targets are prepared by SMS).

Lab hosts run as one background process per lab directory, which the lab's supervisor starts; this module
only reads what the workspace hands it (LabHostsAccess): which names are lab hosts, whether they serve the copy,
and their inventory (host, port, keys), started on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from mgc_iac.errors import ConfigError
from mgc_iac.ssh._settings import JumpHost, SSHSettings, TargetEndpoint


class LabHostsAccess(Protocol):
    """The lab hosts of a lab stack, as the workspace gives them (mgc_iac.operations._workspace)."""

    names: frozenset[str]      # the hosts the stack's lab-seed.yaml declares
    where: str                 # the seed file, named in messages
    shared_paths: tuple[str, ...]  # what every lab host binds read-only from this machine: never copied

    def serve_copies(self) -> bool:
        """Whether lab hosts serve the copy (not when the lab finishes copies by itself: instant_transfers)."""

    def inventory(self, reread: bool = False) -> dict[str, dict[str, Any]]:
        """{name: {host, port, user, role, key_file, known_hosts, host_key}} of the running lab hosts (started on
        first use); `reread`: read hosts.json again (a clone's host appears once SMS made the clone)."""


# ---- resolving a server's hosts -------------------------------------------------------------------------


@dataclass(frozen=True)
class HostAccess:
    """How the controller reaches one host; `lab` when it is a lab host (it cannot install packages);
    `shared_paths`: what the host shares with this machine (a lab host's bind mounts), never compared."""

    name: str
    settings: SSHSettings
    lab: bool = False
    shared_paths: tuple[str, ...] = ()


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


class MigrationHosts:
    """Resolves sources and targets of one stack for the engine (thread-safe: the lab hosts start once)."""

    def __init__(self, spec: dict[str, Any], lab_hosts: LabHostsAccess | None = None) -> None:
        self.spec = spec
        self.lab_hosts = lab_hosts
        self._lab_names = lab_hosts.names if lab_hosts is not None else frozenset()

    def _lab_hosts_used(self) -> bool:
        return bool(self._lab_names) and self.lab_hosts is not None and self.lab_hosts.serve_copies()

    def _lab(self) -> dict[str, dict[str, Any]]:
        assert self.lab_hosts is not None
        return self.lab_hosts.inventory()

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
                return HostAccess(name, _lab_settings(entry), lab=True,
                                  shared_paths=tuple(self.lab_hosts.shared_paths))
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
        if self.lab_hosts is not None and self._lab_hosts_used():
            entry = self._lab().get(name) or self.lab_hosts.inventory(reread=True).get(name)
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
        where = self.lab_hosts.where if self.lab_hosts is not None else \
            "the stack's lab-seed.yaml (a `cloud.provider: lab` stack)"
        raise ConfigError(f"no target host {target_name!r} to copy to: declare it under `hosts:` in {where} "
                          "with role: target (the SSH data path reaches targets in the lab only)")
