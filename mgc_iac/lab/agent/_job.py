"""What one replication copies, where to, and how fast: plain data handed to the data path."""

from __future__ import annotations

from dataclasses import dataclass, field

from mgc_iac.ssh import TargetEndpoint, normalize
from mgc_iac.ssh.agent import AGENT_DIR  # the agent's own files: never copied


@dataclass(frozen=True)
class AgentInstall:
    """How the agent on a source reaches one task's target: the transfer key SMS gave it and the pinned host key."""

    agent_dir: str
    key_file: str
    known_hosts: str
    target: TargetEndpoint


@dataclass(frozen=True)
class ReplicationJob:
    """paths: the trees copied (same paths on the target); exclude: subtrees left out (max 30 on SMS)."""

    paths: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    bandwidth_limit_mbps: float | None = None
    parallel_files: int = 16

    def __post_init__(self) -> None:
        object.__setattr__(self, "paths", tuple(normalize(p) for p in self.paths))
        object.__setattr__(self, "exclude", tuple(normalize(p) for p in self.exclude))
        if not self.paths:
            raise ValueError("a replication needs at least one path")

    @property
    def all_excludes(self) -> tuple[str, ...]:
        """User excludes plus the agent's own directory, which never travels."""
        return (*self.exclude, AGENT_DIR)


@dataclass(frozen=True)
class ReplicationResult:
    method: str  # "rsync" or "sftp"
    phase: str  # "full" or "sync"
    files_total: int
    files_transferred: int
    files_deleted: int
    bytes_total: int
    bytes_transferred: int  # file data sent (changed files)
    bytes_on_wire: int | None  # what crossed the connection when the method can tell
    seconds: float
    warnings: tuple[str, ...] = field(default=())
