"""`init` -> `apply` on the lab, end to end (issue 22, point 8): the scaffold writes the lab seed its stack needs,
so the new stack migrates through both gates; and `lab reset` resets a lab whose process is not running."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO
from .helpers import Demo


@pytest.fixture
def scaffolded(tmp_path: Path) -> Iterator[Demo]:
    env = {**os.environ, "MGC_IAC_STATE": str(tmp_path / "state" / "state.db"),
           "MGC_IAC_LAB_DIR": str(tmp_path / "lab"), "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    d = Demo(tmp_path / "prod", tmp_path / "lab", env)
    try:
        yield d
    finally:
        d.cli("lab", "down", timeout=60)


def test_init_gives_a_stack_that_applies_on_the_lab(scaffolded: Demo) -> None:
    d = scaffolded
    out = d.cli("init", str(d.stack))
    assert out.returncode == 0, out.stderr
    assert (d.stack / "lab-seed.yaml").is_file() and f"wrote {d.stack / 'lab-seed.yaml'}" in out.stdout
    run = d.cli("apply", str(d.stack), "--auto-approve", timeout=300)
    assert run.returncode == 3, run.stdout + run.stderr      # every automated step ran; the first gate waits
    assert "app-01" in run.stdout and "Traceback" not in run.stderr
    for _gate in ("BusinessValidation", "Cutover"):
        ok = d.cli("approve", str(d.stack), "--all-waiting", "--by", "reviewer@example.com")
        assert ok.returncode == 0, ok.stdout + ok.stderr
        run = d.cli("apply", str(d.stack), "--auto-approve", timeout=300)
        assert run.returncode in (0, 3), run.stdout + run.stderr
    assert run.returncode == 0, run.stdout + run.stderr
    status = d.status()
    assert status["app-01"]["state"] == "done", status
    # the bytes arrived: the target host holds the source's files
    source, target = d.root("app-01") / "srv" / "app", d.root("app-01-hw") / "srv" / "app"
    assert sorted(p.name for p in source.rglob("*")) == sorted(p.name for p in target.rglob("*"))


def test_lab_reset_resets_a_stopped_lab_with_state_on_disk(scaffolded: Demo) -> None:
    d = scaffolded
    assert d.cli("init", str(d.stack)).returncode == 0
    run = d.cli("apply", str(d.stack), "--auto-approve", timeout=300)
    assert run.returncode == 3, run.stdout + run.stderr   # the lab now holds a target server and a task
    assert _servers(d) == ["app-01-hw"]
    assert d.cli("lab", "down").returncode == 0
    reset = d.cli("lab", "reset", "--yes")
    assert reset.returncode == 0, reset.stdout + reset.stderr
    assert "lab reset to its seed" in reset.stdout and "not running" in reset.stdout
    assert d.cli("lab", "up").returncode == 0
    assert _servers(d) == []                                 # forgotten on disk, seed loaded again
    assert d.cli("lab", "down").returncode == 0
    shutil.rmtree(d.lab_dir)
    gone = d.cli("lab", "reset", "--yes")
    assert gone.returncode == 1 and "nothing to reset" in gone.stderr and "Traceback" not in gone.stderr


def _servers(d: Demo) -> list[str]:
    out = d.cli("lab", "ls", "servers", "--format", "json")
    assert out.returncode == 0, out.stderr
    return sorted(s["name"] for s in json.loads(out.stdout))
