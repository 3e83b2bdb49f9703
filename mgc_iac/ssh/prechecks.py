"""Prechecks (pure): judge HostFacts against the seed page's source requirements, and diff against inventory.

Available CPU is judged as cpu_count minus the 1-minute load average: what is left for the agent now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mgc_iac.ssh.facts import HostFacts

Status = Literal["pass", "warn", "fail"]

_PROXY_FILES = {"apt": "/etc/apt/apt.conf", "yum": "/etc/yum.conf", "dnf": "/etc/yum.conf"}
_INSTALL = {"apt": "apt-get install -y rsync", "yum": "yum install -y rsync", "dnf": "dnf install -y rsync",
            "zypper": "zypper install -y rsync"}


@dataclass(frozen=True)
class PrecheckResult:
    name: str
    status: Status
    detail: str
    remedy: str = ""


@dataclass(frozen=True)
class Requirements:
    """The seed page's values as defaults; measured values are None when not measured."""

    os: Literal["linux", "windows"] = "linux"
    min_available_memory_mb: float = 520
    min_available_cpu: float | None = None  # None: 0.3 on Linux, 1 on Windows
    min_free_root_gb: float = 2.0
    min_free_tmp_gb: float = 0.5
    install_rsync: bool = False
    migration_port: int = 22
    migration_port_reachable: bool | None = None
    download_bandwidth_mbps: float | None = None
    bandwidth_shared: bool = False


def _check_os(f: HostFacts, r: Requirements) -> PrecheckResult:
    seen = f"{f.os.family} ({f.os.id} {f.os.version_id})".strip()
    if f.os.family == r.os:
        return PrecheckResult("os", "pass", f"source runs {seen}")
    return PrecheckResult("os", "fail", f"declared os {r.os}, the host runs {seen}",
                          f"set os: {f.os.family} for this source in the stack spec")


def _check_memory(f: HostFacts, r: Requirements) -> PrecheckResult:
    have = f.memory_available_mb
    if have >= r.min_available_memory_mb:
        return PrecheckResult("memory", "pass", f"{have:.0f} MB available (MemAvailable)")
    return PrecheckResult("memory", "fail",
                          f"{have:.0f} MB available, the agent needs {r.min_available_memory_mb:.0f} MB",
                          "stop services or add memory on the source before migrating")


def _check_cpu(f: HostFacts, r: Requirements) -> PrecheckResult:
    need = r.min_available_cpu if r.min_available_cpu is not None else (1.0 if r.os == "windows" else 0.3)
    free = f.cpu_count - f.load1
    detail = f"{free:.2f} CPUs available ({f.cpu_count} CPUs minus load average {f.load1:.2f})"
    if free >= need:
        return PrecheckResult("cpu", "pass", detail)
    return PrecheckResult("cpu", "fail", f"{detail}, the agent needs {need:g}",
                          "migrate when the source is less busy, or add CPUs")


def _check_space(f: HostFacts, path: str, need_gb: float) -> PrecheckResult:
    name = f"free_space_{'root' if path == '/' else path.strip('/')}"
    kb = f.free_kb.get(path)
    if kb is None:
        return PrecheckResult(name, "warn", f"free space on {path} unknown", f"check df -h {path} on the source")
    gb = kb / 1024 / 1024
    if gb >= need_gb:
        return PrecheckResult(name, "pass", f"{gb:.2f} GB free on {path}")
    return PrecheckResult(name, "warn", f"{gb:.2f} GB free on {path}, less than {need_gb:g} GB",
                          f"free space on {path}: the agent and its logs need room there")


def _check_rsync(f: HostFacts, r: Requirements) -> PrecheckResult:
    if r.os == "windows":
        return PrecheckResult("rsync", "pass", "not needed on Windows")
    if f.rsync_present:
        return PrecheckResult("rsync", "pass", f"rsync found at {f.rsync_path}")
    pm = f.package_manager
    if r.install_rsync:
        proxy = _PROXY_FILES.get(pm or "", "")
        detail = f"rsync missing; it will be installed with {pm or 'the package manager'}"
        remedy = f"if the source needs a proxy, set it in {proxy}" if proxy else ""
        return PrecheckResult("rsync", "warn" if pm else "fail", detail,
                              remedy if pm else "no apt/yum/dnf found: install rsync by hand")
    proxy = f" (if a proxy is needed, set it in {_PROXY_FILES[pm]})" if pm in _PROXY_FILES else \
        " (proxy settings: /etc/apt/apt.conf on Ubuntu/Debian, /etc/yum.conf on CentOS/Red Hat)"
    how = _INSTALL.get(pm or "", "install rsync with the system's package manager")
    return PrecheckResult("rsync", "fail", "rsync is not installed and install_rsync is off",
                          f"run `{how}` on the source{proxy}, or set advanced.install_rsync: true")


def _check_sudo(f: HostFacts) -> PrecheckResult:
    if f.sudo == "root" or f.is_root:
        return PrecheckResult("sudo", "pass", "connected as root")
    if f.sudo == "nopasswd":
        return PrecheckResult("sudo", "pass", f"{f.identity.user} can sudo without a password")
    return PrecheckResult("sudo", "fail", f"{f.identity.user or 'the user'} is not root and sudo "
                          + ("asks for a password" if f.sudo == "password" else "is not installed"),
                          f"add '{f.identity.user or 'USER'} ALL=(ALL) NOPASSWD: ALL' to /etc/sudoers.d/mgc, "
                          "or connect as root")


def _check_port(r: Requirements) -> PrecheckResult | None:
    if r.migration_port_reachable is None:
        return None
    if r.migration_port_reachable:
        return PrecheckResult("migration_port", "pass", f"port {r.migration_port} reachable")
    return PrecheckResult("migration_port", "fail", f"port {r.migration_port} not reachable on the target",
                          f"allow inbound TCP {r.migration_port} in the target's security group")


def _check_bandwidth(r: Requirements) -> PrecheckResult | None:
    if r.download_bandwidth_mbps is None:
        return None
    need = 50.0 if r.bandwidth_shared else 30.0
    kind = "shared" if r.bandwidth_shared else "dedicated"
    if r.download_bandwidth_mbps >= need:
        return PrecheckResult("bandwidth", "pass", f"{r.download_bandwidth_mbps:g} Mbit/s ({kind})")
    return PrecheckResult("bandwidth", "fail",
                          f"{r.download_bandwidth_mbps:g} Mbit/s {kind}, the agent download needs {need:g}",
                          "raise the source's bandwidth or download the agent package to a local mirror")


def run_prechecks(facts: HostFacts, requirements: Requirements | None = None) -> list[PrecheckResult]:
    """Every check in a fixed order; the optional ones (port, bandwidth) only when measured or declared."""
    r = requirements or Requirements()
    results = [_check_os(facts, r), _check_memory(facts, r), _check_cpu(facts, r),
               _check_space(facts, "/", r.min_free_root_gb), _check_space(facts, "/tmp", r.min_free_tmp_gb),
               _check_rsync(facts, r), _check_sudo(facts)]
    results += [c for c in (_check_port(r), _check_bandwidth(r)) if c is not None]
    return results


@dataclass(frozen=True)
class Difference:
    field: str
    declared: Any
    discovered: Any


def _norm_mac(mac: str) -> str:
    return mac.lower().replace("-", ":")


def compare_inventory(declared: dict[str, Any], facts: HostFacts) -> list[Difference]:
    """What `mgc-iac discover` reports: declared MAC, memory, CPUs and disks that the host contradicts.

    Memory is compared with 10% slack (the kernel reserves part of it); disks by total size in GB.
    """
    out: list[Difference] = []
    mac = declared.get("mac")
    if mac and _norm_mac(mac) not in {_norm_mac(m) for m in facts.macs}:
        out.append(Difference("mac", mac, ", ".join(facts.macs)))
    mem = declared.get("memory_mb")
    have_mb = facts.memory_total_kb // 1024
    if mem is not None and abs(have_mb - mem) > 0.1 * mem:
        out.append(Difference("memory_mb", mem, have_mb))
    cpus = declared.get("cpus")
    if cpus is not None and cpus != facts.cpu_count:
        out.append(Difference("cpus", cpus, facts.cpu_count))
    disks = declared.get("disks")
    if disks:
        want = sum(d.get("size_gb", 0) for d in disks)
        root = next((d for d in facts.disks if d.mount == "/"), None)
        have = round(sum(d.size_kb for d in facts.disks) / 1024 / 1024) if root else None
        if have is not None and abs(have - want) > max(1, 0.05 * want):
            out.append(Difference("disks_size_gb", want, have))
    return out
