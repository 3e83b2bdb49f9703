"""Facts shaped like pyinfra's: a read-only shell command, a pure parser of its output, and a default."""

from __future__ import annotations

from typing import Any, ClassVar

from mgc_iac.ssh.facts._model import Disk, Identity, Interface, OsInfo


class Fact:
    """One fact: `command` runs on the host, `process(output)` turns its output into a value."""

    name: ClassVar[str]
    command: ClassVar[str]
    default: ClassVar[Any] = None

    @classmethod
    def process(cls, output: str) -> Any:
        raise NotImplementedError

    @classmethod
    def value(cls, output: str | None) -> Any:
        """process(output), or the default when the fact printed nothing or could not be parsed."""
        if output is None or not output.strip():
            return cls.default
        try:
            return cls.process(output)
        except (ValueError, IndexError, KeyError):
            return cls.default


class Hostname(Fact):
    name = "hostname"
    command = "uname -n"
    default = ""

    @classmethod
    def process(cls, output: str) -> str:
        return output.strip().splitlines()[0]


class WhoAmI(Fact):
    name = "identity"
    command = "id -u; id -un"
    default = Identity()

    @classmethod
    def process(cls, output: str) -> Identity:
        lines = output.split()
        return Identity(uid=int(lines[0]), user=lines[1] if len(lines) > 1 else "")


class OsRelease(Fact):
    name = "os_release"
    command = "uname -s; cat /etc/os-release"
    default = OsInfo()

    @classmethod
    def process(cls, output: str) -> OsInfo:
        lines = output.splitlines()
        kernel = lines[0].strip()
        fields: dict[str, str] = {}
        for line in lines[1:]:
            key, sep, val = line.partition("=")
            if sep:
                fields[key.strip()] = val.strip().strip('"').strip("'")
        family = "windows" if kernel.lower().startswith(("cygwin", "mingw", "msys", "windows")) else "linux"
        return OsInfo(kernel=kernel, family=family, id=fields.get("ID", "unknown"),
                      version_id=fields.get("VERSION_ID", ""), pretty_name=fields.get("PRETTY_NAME", ""))


class CpuCount(Fact):
    name = "cpu_count"
    command = "nproc || grep -c ^processor /proc/cpuinfo"
    default = 0

    @classmethod
    def process(cls, output: str) -> int:
        return int(output.split()[0])


class LoadAverage(Fact):
    name = "loadavg"
    command = "cat /proc/loadavg"
    default = 0.0

    @classmethod
    def process(cls, output: str) -> float:
        return float(output.split()[0])


class MemInfo(Fact):
    """(total_kb, available_kb); kernels before 3.14 lack MemAvailable: free + buffers + cached then."""

    name = "meminfo"
    command = "cat /proc/meminfo"
    default = (0, 0)

    @classmethod
    def process(cls, output: str) -> tuple[int, int]:
        kb: dict[str, int] = {}
        for line in output.splitlines():
            key, _, rest = line.partition(":")
            parts = rest.split()
            if parts:
                kb[key.strip()] = int(parts[0])
        total = kb["MemTotal"]
        avail = kb.get("MemAvailable")
        if avail is None:
            avail = kb.get("MemFree", 0) + kb.get("Buffers", 0) + kb.get("Cached", 0)
        return total, avail


class Interfaces(Fact):
    """`if NAME MAC` lines from /sys/class/net, then `ip -o addr` lines for the addresses."""

    name = "interfaces"
    command = ('for d in /sys/class/net/*; do [ -e "$d" ] || continue; '
               'printf "if %s %s\\n" "${d##*/}" "$(cat "$d/address" 2>/dev/null)"; done; ip -o addr show')
    default = ()

    @classmethod
    def process(cls, output: str) -> tuple[Interface, ...]:
        macs: dict[str, str] = {}
        ips: dict[str, list[str]] = {}
        for line in output.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "if":
                macs[parts[1]] = parts[2].lower() if len(parts) > 2 else ""
            elif len(parts) >= 4 and parts[0].endswith(":") and parts[2] in ("inet", "inet6"):
                ips.setdefault(parts[1].split("@")[0], []).append(parts[3].split("/")[0])
        return tuple(Interface(name=n, mac=m, ips=tuple(ips.get(n, ()))) for n, m in macs.items() if n != "lo")


_PSEUDO_FS = ("proc", "sysfs", "devtmpfs", "udev", "devpts", "cgroup", "cgroup2", "mqueue", "overlay_pseudo")


def _df_lines(output: str) -> list[Disk]:
    disks = []
    for line in output.splitlines():
        parts = line.split()
        if len(parts) < 6 or not parts[1].isdigit():
            continue  # the header, or a wrapped line
        disks.append(Disk(filesystem=parts[0], size_kb=int(parts[1]), used_kb=int(parts[2]),
                          available_kb=int(parts[3]), mount=" ".join(parts[5:])))
    return disks


class Disks(Fact):
    name = "disks"
    command = "df -Pk"
    default = ()

    @classmethod
    def process(cls, output: str) -> tuple[Disk, ...]:
        out = []
        for d in _df_lines(output):
            if d.filesystem in _PSEUDO_FS or d.mount.startswith(("/proc", "/sys", "/dev", "/run")) or d.size_kb == 0:
                continue
            out.append(d)
        return tuple(out)


class FreeSpace(Fact):
    """Available KiB on / and /tmp (whatever filesystem holds them)."""

    name = "free_space"
    command = "for p in / /tmp; do printf 'path %s\\n' \"$p\"; df -Pk \"$p\" | tail -n 1; done"
    default: ClassVar[dict[str, int]] = {}

    @classmethod
    def process(cls, output: str) -> dict[str, int]:
        free: dict[str, int] = {}
        path = None
        for line in output.splitlines():
            if line.startswith("path "):
                path = line[5:].strip()
                continue
            parts = line.split()
            if path and len(parts) >= 6 and parts[3].isdigit():
                free[path] = int(parts[3])
                path = None
        return free


class RsyncPath(Fact):
    name = "rsync"
    command = "command -v rsync"
    default = None

    @classmethod
    def process(cls, output: str) -> str | None:
        path = output.strip().splitlines()[0]
        return path or None


class Sudo(Fact):
    name = "sudo"
    command = ('if [ "$(id -u)" = 0 ]; then echo root; elif ! command -v sudo >/dev/null; then echo absent; '
               'elif sudo -n true </dev/null >/dev/null 2>&1; then echo nopasswd; else echo password; fi')
    default = "absent"

    @classmethod
    def process(cls, output: str) -> str:
        word = output.strip()
        if word not in ("root", "nopasswd", "password", "absent"):
            raise ValueError(word)
        return word


class PackageManager(Fact):
    name = "package_manager"
    command = "for p in apt-get dnf yum zypper; do if command -v $p >/dev/null; then echo $p; break; fi; done"
    default = None

    @classmethod
    def process(cls, output: str) -> str | None:
        word = output.strip()
        return {"apt-get": "apt"}.get(word, word) or None


ALL_FACTS: tuple[type[Fact], ...] = (Hostname, WhoAmI, OsRelease, CpuCount, LoadAverage, MemInfo, Interfaces,
                                     Disks, FreeSpace, RsyncPath, Sudo, PackageManager)
