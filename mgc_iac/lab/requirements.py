"""The machine's programs the lab hosts run, checked before anything starts: a missing one is named at once.

A lab host is a bubblewrap sandbox (mgc_iac/lab/hosts/_sandbox.py) sharing this machine's /usr: the agent
inside copies with rsync over ssh, serves SFTP with OpenSSH's sftp-server, downloads its package with curl and
runs on /usr/bin/python3. Without one of them the demo used to fail deep inside a step ("command exited 127");
now each missing program is one line naming the Debian/Ubuntu package that brings it.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from pathlib import Path

from mgc_iac.errors import ConfigError

# program -> (how it is found, the package that installs it)
TOOLS: tuple[tuple[str, str, str], ...] = (
    ("bwrap", "bwrap", "bubblewrap"),
    ("rsync", "rsync", "rsync"),
    ("ssh", "ssh", "openssh-client"),
    ("sftp-server", "/usr/lib/openssh/sftp-server", "openssh-server"),
    ("curl", "curl", "curl"),
    ("python3", "/usr/bin/python3", "python3"),
)


def missing_lab_tools() -> list[str]:
    """One line per missing program: what is missing and the package to install."""
    lines = []
    for name, where, package in TOOLS:
        found = Path(where).is_file() if where.startswith("/") else shutil.which(where) is not None
        if not found:
            lines.append(f"the lab needs {name} ({where}), which is missing: apt-get install {package}")
    if not lines and not _bwrap_works():
        lines.append("the lab needs bubblewrap to create a user namespace, and it cannot here: run as root, or "
                     "allow unprivileged user namespaces (sysctl -w kernel.unprivileged_userns_clone=1)")
    return lines


@cache
def _bwrap_works() -> bool:
    """bwrap can make the sandbox a lab host runs in (a container may forbid namespaces)."""
    try:
        done = subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-uts", "true"], capture_output=True,
                              timeout=20)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def require_lab_tools() -> None:
    """Raise ConfigError (exit 1, one line per missing program) before a lab host or a step starts."""
    lines = missing_lab_tools()
    if lines:
        raise ConfigError("\n".join(lines))
