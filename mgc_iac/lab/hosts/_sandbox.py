"""The bubblewrap command line that makes a lab host's commands see its own / and its own facts."""

from __future__ import annotations

from pathlib import Path

from mgc_iac.lab.hosts._spec import LabHostSpec

SFTP_SERVER = "/usr/lib/openssh/sftp-server"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def sandbox_argv(spec: LabHostSpec, root: Path, facts_dir: Path, command: list[str]) -> list[str]:
    """bwrap: ROOT as /, /usr shared read-only, per-host /proc and /sys fact files, hostname, nproc."""
    argv = [
        "bwrap", "--bind", str(root), "/", "--ro-bind", "/usr", "/usr",
        "--ro-bind", "/etc/alternatives", "/etc/alternatives", "--proc", "/proc", "--dev", "/dev",
        "--ro-bind", "/sys", "/sys",
        "--ro-bind", str(facts_dir / "meminfo"), "/proc/meminfo",
        "--ro-bind", str(facts_dir / "cpuinfo"), "/proc/cpuinfo",
        "--ro-bind", str(facts_dir / "loadavg"), "/proc/loadavg",
        "--ro-bind", str(facts_dir / "net"), "/sys/class/net",
        "--unshare-uts", "--hostname", spec.name, "--die-with-parent", "--chdir", "/root",
        "--clearenv", "--setenv", "PATH", PATH, "--setenv", "HOME", "/root", "--setenv", "USER", "root",
        "--setenv", "LOGNAME", "root", "--setenv", "OMP_NUM_THREADS", str(spec.cpus),
    ]
    if not spec.rsync:
        argv += ["--ro-bind", "/usr/bin", "/run/mgc-usr-bin", "--ro-bind", str(facts_dir / "usr-bin"), "/usr/bin"]
    return [*argv, *command]
