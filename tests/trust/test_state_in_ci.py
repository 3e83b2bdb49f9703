"""`plan` never writes the state, and CI never plans or applies against nothing (issue 19)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mgc_iac", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture
def ci_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "CI": "true", "NO_COLOR": "1", "PYTHONPATH": str(REPO),
           "MGC_IAC_LAB_DIR": str(tmp_path / "lab")}
    env.pop("MGC_IAC_NEW_STATE", None)
    return env


def test_an_empty_state_variable_in_ci_is_refused_with_the_fix(demo_stack: Path, ci_env: dict[str, str]):
    done = cli("plan", str(demo_stack), env={**ci_env, "MGC_IAC_STATE": ""}, cwd=demo_stack.parent)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "MGC_IAC_STATE is set but empty" in done.stderr and "--new-state" in done.stderr
    assert "to create" not in done.stdout  # no plan against nothing
    assert not (demo_stack.parent / ".mgc-iac").exists()


def test_a_missing_state_file_in_ci_is_refused_unless_a_new_state_is_intended(demo_stack: Path, tmp_path: Path,
                                                                                ci_env: dict[str, str]):
    state = tmp_path / "fresh" / "state.db"
    env = {**ci_env, "MGC_IAC_STATE": str(state)}
    for command in (["plan", str(demo_stack)], ["apply", str(demo_stack), "--auto-approve"]):
        done = cli(*command, env=env, cwd=demo_stack.parent)
        assert done.returncode == 1 and "no state file at" in done.stderr, done.stderr
        assert not state.exists()
    done = cli("plan", str(demo_stack), "--new-state", "--detailed-exitcode", env=env, cwd=demo_stack.parent)
    assert done.returncode == 2 and "to create" in done.stdout, done.stderr
    assert not state.exists()  # plan never creates the state either
    done = cli("plan", str(demo_stack), env={**env, "CI": ""}, cwd=demo_stack.parent)  # a workstation
    assert done.returncode == 0, done.stderr


def test_plan_writes_nothing_to_an_existing_state(demo_stack: Path, tmp_path: Path, ci_env: dict[str, str]):
    from mgc_iac.state import StepRecord, StepStatus, open_store

    state = tmp_path / "st" / "state.db"
    store = open_store(state)
    with store.transaction("demo") as txn:
        txn.put_step(StepRecord("shop-wave-1", "web-01", "StartUpAgent", StepStatus.DONE))
    store.close()
    before = hashlib.sha256(state.read_bytes()).hexdigest()
    listing = sorted(p.name for p in state.parent.iterdir())
    env = {**ci_env, "MGC_IAC_STATE": str(state)}
    for args in (["plan", str(demo_stack), "--format", "json"], ["validate", str(demo_stack)],
                 ["status", str(demo_stack)], ["plan", str(demo_stack), "--out", str(tmp_path / "p.json")]):
        done = cli(*args, env=env, cwd=demo_stack.parent)
        assert done.returncode == 0, done.stderr
    assert hashlib.sha256(state.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in state.parent.iterdir() if not p.name.endswith(("-wal", "-shm"))) == \
        [n for n in listing if not n.endswith(("-wal", "-shm"))]  # no refresh cache, no new file beside it
    store = open_store(state, read_only=True)
    try:
        assert store.serial("demo") == 1 and store.last_applied("demo") is None and store.lock_info("demo") is None
    finally:
        store.close()
