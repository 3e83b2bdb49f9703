"""A machine without bubblewrap, rsync or ssh is told at once, one line per missing program naming its package,
before the demo resets anything or apply runs a step (it used to fail deep in CreateTarget with exit 127)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _path_without(tmp_path: Path, *missing: str) -> str:
    """A PATH holding every program the lab needs except `missing` (links into a private bin directory)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("bwrap", "rsync", "ssh", "curl", "ssh-keygen", "git"):
        found = shutil.which(name)
        if found and name not in missing:
            (bin_dir / name).symlink_to(found)
    return str(bin_dir)


def _mgc(tmp_path: Path, path: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": path, "MGC_IAC_LAB_DIR": str(tmp_path / "lab"), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "mgc_iac", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)


@pytest.mark.parametrize("missing, package", [("bwrap", "bubblewrap"), ("rsync", "rsync"),
                                              ("ssh", "openssh-client")])
def test_demo_names_the_missing_program_and_its_package_before_anything_starts(tmp_path, missing, package):
    out = _mgc(tmp_path, _path_without(tmp_path, missing), "demo", "--workdir", str(tmp_path / "work"))
    assert out.returncode == 1, out.stdout + out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, out.stderr
    assert f"the lab needs {missing}" in lines[0] and f"apt-get install {package}" in lines[0]
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "work").exists()  # nothing reset, no lab started


def test_two_missing_programs_are_two_lines(tmp_path):
    out = _mgc(tmp_path, _path_without(tmp_path, "bwrap", "rsync"), "demo", "--workdir", str(tmp_path / "work"))
    assert out.returncode == 1
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 2 and "apt-get install bubblewrap" in lines[0] and "apt-get install rsync" in lines[1], lines


def test_apply_stops_before_any_step(tmp_path, demo_stack):
    """apply on a lab stack whose seed has hosts: refused before the engine runs a step (no journal entry)."""
    out = _mgc(tmp_path, _path_without(tmp_path, "rsync"), "apply", str(demo_stack), "--auto-approve")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "apt-get install rsync" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "lab" / "lab.pid").exists() and not list((tmp_path / "lab").glob("*.pid"))  # no lab
    from mgc_iac.state import open_store

    state = demo_stack.parent / ".mgc-iac" / "state.db"
    if state.exists():
        store = open_store(state)
        try:
            assert store.journal("demo", 100) == []
        finally:
            store.close()
