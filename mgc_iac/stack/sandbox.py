"""Where a stack.py runs: it is code from the change under review, so it runs as untrusted input.

A pull request's stack.py must not read the job's secrets (the state DSN and its password, cloud keys, the CI
token), reach the network, write outside a scratch directory or run for ever. So the child Python gets:

- an environment built from an allowlist (never the parent's environment minus a denylist);
- under bubblewrap (`bwrap`, as the lab hosts use it): a new mount namespace showing only the Python runtime,
  mgc-iac's own package and the stack's directory, all read-only, and a size-capped tmpfs as its scratch
  (/tmp, also $HOME; /dev is read-only, /dev/shm small); no network (a new, empty network namespace), its own
  pid/ipc/uts namespaces, no capabilities, a new terminal session (no TIOCSTI into the caller's terminal),
  killed with its parent;
- CPU-time, memory (address space), file-size and process-count limits (setrlimit) and a wall-clock
  timeout.

Without a working bwrap the allowlisted environment and the limits still apply, but files and the network are
not fenced: in CI (`CI` set) stack code is then refused unless it is trusted explicitly
(`mgc-iac --trust-stack-code`, or MGC_IAC_TRUST_STACK_CODE=1).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from mgc_iac.ci import in_ci

__all__ = ["in_ci", "Limits", "TRUST_ENV", "apply_limits", "bwrap_works", "child_env", "limits_spec", "sandbox_argv",
           "trusted"]

TRUST_ENV = "MGC_IAC_TRUST_STACK_CODE"
# variables a stack program may be given on purpose (`MGC_IAC_STACK_VAR_REGION=...` -> the same name inside)
PASS_PREFIX = "MGC_IAC_STACK_VAR_"
_LOCALE = ("LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "LC_NUMERIC", "LC_TIME", "TZ")
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime", "/etc/alternatives", "/etc/passwd",
                 "/etc/group", "/etc/nsswitch.conf")
SCRATCH = "/tmp"  # inside the sandbox
SHM_MB = 16  # /dev/shm inside (Python's multiprocessing locks need a little)


@dataclass(frozen=True)
class Limits:
    """What one stack.py run may use. Override with MGC_IAC_STACK_{TIMEOUT,CPU_SECONDS,MEMORY_MB,SCRATCH_MB}."""

    wall_seconds: float = 120.0
    cpu_seconds: int = 100
    memory_mb: int = 4096   # address space: a 100,000-server stack.py needs about 1.5 GiB
    scratch_mb: int = 256   # the tmpfs it may write to, and the largest file it may write
    processes: int = 256    # processes it may start (beyond those this user already runs)

    @classmethod
    def from_env(cls) -> Limits:
        def number(name: str, default: float) -> float:
            raw = os.environ.get(f"MGC_IAC_STACK_{name}", "").strip()
            try:
                return float(raw) if raw else default
            except ValueError:
                return default

        base = cls()
        return cls(number("TIMEOUT", base.wall_seconds), int(number("CPU_SECONDS", base.cpu_seconds)),
                   int(number("MEMORY_MB", base.memory_mb)), int(number("SCRATCH_MB", base.scratch_mb)))


def trusted() -> bool:
    return os.environ.get(TRUST_ENV, "").strip().lower() in ("1", "true", "yes")


@functools.cache
def bwrap_works() -> bool:
    """bwrap is installed and may create the namespaces (a container may forbid user namespaces)."""
    found = shutil.which("bwrap")
    if found is None:
        return False
    try:
        done = subprocess.run([found, "--ro-bind", "/", "/", "--unshare-net", "--unshare-pid", "--dev", "/dev",
                               "--proc", "/proc", "--die-with-parent", "true"], capture_output=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def child_env(package_root: str) -> dict[str, str]:
    """The whole environment of the stack's process: an allowlist, nothing inherited by default."""
    env = {k: v for k, v in os.environ.items() if k in _LOCALE or k.startswith(PASS_PREFIX)}
    env.update({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": SCRATCH, "TMPDIR": SCRATCH,
                "PYTHONPATH": package_root, "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
                "PYTHONIOENCODING": "utf-8"})
    return env


def sandbox_argv(command: list[str], *, stack_dir: Path, package_dir: Path, env: dict[str, str],
                 limits: Limits) -> list[str]:
    """bwrap around `command`: read-only runtime + stack dir, a sized tmpfs scratch, no network, no caps."""
    argv = ["bwrap", "--unshare-all", "--cap-drop", "ALL", "--die-with-parent", "--new-session",
            "--hostname", "mgc-iac-stack", "--proc", "/proc", "--dev", "/dev",
            # bwrap's /dev and its /dev/shm are tmpfs of half the machine's memory: /dev read-only, shm sized
            "--size", str(SHM_MB * 1024 * 1024), "--tmpfs", "/dev/shm", "--remount-ro", "/dev",
            "--size", str(limits.scratch_mb * 1024 * 1024), "--tmpfs", SCRATCH]
    for path in _SYSTEM_DIRS:
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            argv += ["--ro-bind", path, path]
    for path in _SYSTEM_FILES:
        argv += ["--ro-bind-try", path, path]
    runtime = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(sys.executable).resolve().parent}
    for path in sorted(p for p in runtime if not _under_system(p)):
        argv += ["--ro-bind", str(path), str(path)]
    # the venv's own paths as written (its bin/python is a symlink the child is started through)
    for path in sorted({sys.prefix, sys.base_prefix} - {str(p) for p in runtime}):
        if not _under_system(Path(path)):
            argv += ["--ro-bind-try", path, path]
    argv += ["--ro-bind", str(package_dir), str(package_dir)]
    argv += ["--ro-bind", str(stack_dir), str(stack_dir), "--remount-ro", "/", "--chdir", str(stack_dir),
             "--clearenv"]
    for key, value in sorted(env.items()):
        argv += ["--setenv", key, value]
    return [*argv, "--", *command]


def _under_system(path: Path) -> bool:
    return any(str(path) == d or str(path).startswith(d + "/") for d in _SYSTEM_DIRS)


def apply_limits(spec: str) -> None:
    """In the child, before the stack's code runs: limits it cannot raise again (hard limits)."""
    import resource

    cpu, memory_mb, file_mb, processes = (int(x) for x in spec.split(","))
    resource.setrlimit(resource.RLIMIT_CPU, (max(1, cpu), max(1, cpu) + 1))  # SIGXCPU, then SIGKILL
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * 1024 * 1024,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb * 1024 * 1024,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # the memory limit is per process: without this, a fork loop multiplies it (root is exempt by the kernel)
    soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    cap = processes if hard == resource.RLIM_INFINITY else min(processes, hard)
    resource.setrlimit(resource.RLIMIT_NPROC, (cap, cap))


def limits_spec(limits: Limits) -> str:
    return f"{limits.cpu_seconds},{limits.memory_mb},{limits.scratch_mb},{_user_processes() + limits.processes}"


def _user_processes() -> int:
    """How many processes this user runs now: RLIMIT_NPROC counts them all (outside a user namespace), so the
    stack's allowance comes on top."""
    uid = os.getuid()
    count = 0
    for entry in os.scandir("/proc"):
        try:
            count += entry.name.isdigit() and entry.stat().st_uid == uid
        except OSError:
            continue
    return count
