"""End-to-end fixtures: the real CLI (`python -m mgc_iac` subprocesses) on a copy of stacks/demo, with its own
state, lab dir, lab cloud process and lab SSH hosts process (the agents run inside the hosts); everything is
stopped after."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .helpers import Demo

REPO = Path(__file__).resolve().parent.parent.parent
DEMO = REPO / "stacks" / "demo"

if shutil.which("bwrap") is None or shutil.which("rsync") is None:  # pragma: no cover - CI installs both
    pytest.skip("bubblewrap and rsync are needed for the lab hosts", allow_module_level=True)


def _processes_under(path: Path) -> list[str]:
    """Command lines of processes that mention `path` (this test's lab and hosts)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in cmd:
            found.append(f"{entry}: {cmd}")
    return found


def _unmount_under(path: Path) -> None:
    for line in Path("/proc/mounts").read_text().splitlines():
        mount = line.split()[1]
        if mount.startswith(str(path)):
            subprocess.run(["umount", "-l", mount], capture_output=True, check=False)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    stack = tmp_path / "demo"
    shutil.copytree(DEMO, stack)
    lab_dir = tmp_path / "lab"
    env = {**os.environ, "MGC_IAC_STATE": str(tmp_path / "state" / "state.db"), "MGC_IAC_LAB_DIR": str(lab_dir),
           "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    d = Demo(stack, lab_dir, env)
    try:
        yield d
    finally:
        down = d.cli("lab", "down", timeout=60)
        deadline = time.monotonic() + 10
        while _processes_under(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = _processes_under(tmp_path)
        _unmount_under(tmp_path)
        assert down.returncode == 0, down.stderr
        assert not left, f"processes left after `lab down`: {left}"


