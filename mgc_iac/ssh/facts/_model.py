"""HostFacts: the typed view of one host that prechecks and discovery read."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Interface(_Frozen):
    name: str
    mac: str
    ips: tuple[str, ...] = ()


class OsInfo(_Frozen):
    kernel: str = "Linux"
    family: Literal["linux", "windows"] = "linux"
    id: str = "unknown"
    version_id: str = ""
    pretty_name: str = ""


class Disk(_Frozen):
    filesystem: str
    mount: str
    size_kb: int
    used_kb: int
    available_kb: int


class Identity(_Frozen):
    uid: int = -1
    user: str = ""


class HostFacts(_Frozen):
    hostname: str = ""
    identity: Identity = Identity()
    os: OsInfo = OsInfo()
    cpu_count: int = 0
    load1: float = 0.0
    memory_total_kb: int = 0
    memory_available_kb: int = 0
    interfaces: tuple[Interface, ...] = ()
    disks: tuple[Disk, ...] = ()
    free_kb: dict[str, int] = Field(default_factory=dict)
    rsync_path: str | None = None
    sudo: Literal["root", "nopasswd", "password", "absent"] = "absent"
    package_manager: str | None = None

    @property
    def rsync_present(self) -> bool:
        return self.rsync_path is not None

    @property
    def is_root(self) -> bool:
        return self.identity.uid == 0

    @property
    def memory_available_mb(self) -> float:
        return self.memory_available_kb / 1024

    @property
    def macs(self) -> tuple[str, ...]:
        return tuple(i.mac for i in self.interfaces if i.mac and i.mac != "00:00:00:00:00:00")

def facts_summary(facts: HostFacts) -> dict[str, Any]:
    """What the step detail records about a source (no secret: no keys, no users' data)."""
    free = facts.free_kb.get("/")
    return {"hostname": facts.hostname, "os": f"{facts.os.id} {facts.os.version_id}".strip(),
            "cpus": facts.cpu_count, "memory_mb": facts.memory_total_kb // 1024,
            "memory_available_mb": int(facts.memory_available_mb), "macs": list(facts.macs),
            "rsync": facts.rsync_present, "package_manager": facts.package_manager,
            "free_root_gb": round(free / 1024 / 1024, 2) if free is not None else None}
