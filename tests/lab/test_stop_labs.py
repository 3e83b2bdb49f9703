"""The tests' own hygiene (tests/conftest.py): every lab and lab-hosts process a test starts is found by the pid file
its supervisor wrote under the test's folder and stopped as `mgc-iac lab down` stops it, hosts included; a pid file
that names a process the tests did not start for that folder is never acted on."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mgc_iac._pids import pid_alive
from mgc_iac.lab import start_background
from mgc_iac.lab.supervisor import ensure_lab_hosts, running_lab_hosts
from mgc_iac.lab.testing import DEMO_SEED
from tests.conftest import lab_processes, stop_labs


def _mentioning(path: Path) -> list[int]:
    """Pids of the processes whose command line names `path` (what `ps | grep DIR` shows)."""
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            if str(path).encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                found.append(int(entry))
        except OSError:
            continue
    return found


@pytest.mark.skipif(shutil.which("bwrap") is None or shutil.which("rsync") is None,
                    reason="bubblewrap and rsync are needed for the lab hosts")
def test_stop_labs_stops_the_lab_and_its_hosts_and_nothing_else(tmp_path: Path) -> None:
    lab_dir = tmp_path / "nested" / "lab"
    start_background(lab_dir, seed=DEMO_SEED)
    ensure_lab_hosts(lab_dir, DEMO_SEED)
    decoy = subprocess.Popen(["sleep", "120"])  # a live pid in a pid file, but not a lab of that folder
    try:
        (tmp_path / "decoy").mkdir()
        (tmp_path / "decoy" / "lab.pid").write_text(str(decoy.pid))
        (tmp_path / "self").mkdir()
        (tmp_path / "self" / "hosts.pid").write_text(str(os.getpid()))
        started = {int((lab_dir / "lab.pid").read_text()), int((lab_dir / "hosts" / "hosts.pid").read_text())}
        assert {pid for _, pid in lab_processes(tmp_path)} == started
        assert running_lab_hosts(lab_dir) is not None

        stopped = stop_labs(tmp_path)
        assert len(stopped) == 2 and stopped[0].startswith(str(lab_dir / "hosts" / "hosts.pid"))  # hosts first
        assert not any(pid_alive(pid) for pid in started)
        assert _mentioning(lab_dir) == []  # no lab, hosts process or SMS-Agent of that folder is left
        assert lab_processes(tmp_path) == [] and stop_labs(tmp_path) == []
        assert decoy.poll() is None  # the process the tests did not start for a lab is untouched
    finally:
        decoy.kill()
        decoy.wait()
