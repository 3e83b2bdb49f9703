"""stacks/windows end to end: a Windows source whose SMS-Agent the user installed (`agent: preinstalled`).

mgc-iac cannot run Huawei's Windows installer (SMS-Agent-Py3.exe, a GUI): the plan says who installs the agent
and how, apply waits for the source to register with SMS, matches it by MAC and IP, creates the block-level task
and goes on. The Windows server and its agent are a LAB MODEL (mgc_iac/lab/preinstalled.py: the lab registers
it `register_after_seconds` after it starts and completes its copies itself); everything on mgc-iac's side is
the real CLI against the lab cloud process.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .helpers import Demo

REPO = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def windows(tmp_path: Path) -> Iterator[Demo]:
    stack = tmp_path / "windows"
    shutil.copytree(REPO / "stacks" / "windows", stack)
    env = {**os.environ, "MGC_IAC_STATE": str(tmp_path / "state" / "state.db"),
           "MGC_IAC_LAB_DIR": str(tmp_path / "lab"), "NO_COLOR": "1", "PYTHONPATH": str(REPO)}
    env.pop("HUAWEICLOUD_SDK_SECURITY_TOKEN", None)
    d = Demo(stack, tmp_path / "lab", env)
    try:
        yield d
    finally:
        assert d.cli("lab", "down", timeout=60).returncode == 0


def _detail(d: Demo, step: str) -> dict:
    from mgc_iac.state import open_store

    store = open_store(d.env["MGC_IAC_STATE"])
    try:
        return dict(store.snapshot("windows").steps[f"erp/win-01/{step}"].detail)
    finally:
        store.close()


def test_a_preinstalled_windows_agent_is_waited_for_matched_and_migrated(windows: Demo) -> None:
    d = windows
    seed = d.stack / "lab-seed.yaml"
    doc = yaml.safe_load(seed.read_text())
    doc["cloud"]["preinstalled_agents"][0]["register_after_seconds"] = 12  # registers while apply already waits
    seed.write_text(yaml.safe_dump(doc, sort_keys=False))

    plan = d.cli("plan", str(d.stack))
    assert plan.returncode == 0, plan.stderr
    assert ("the SMS-Agent is installed by YOU: install SMS-Agent-Py3.exe on it (AK/SK, SMS domain); apply waits "
            "up to 30 min for it to register with SMS (MAC fa:16:3e:00:00:20, IP 192.168.1.20); block-level, ports "
            "8899/8900") in plan.stdout
    assert "the SMS-Agent's own check (size and mtime of the whole copy)" in plan.stdout
    assert "the agent YOU installed stays" in plan.stdout

    started = time.monotonic()
    run = d.cli("apply", str(d.stack), "--auto-approve", timeout=300)
    assert run.returncode == 3, run.stdout + run.stderr  # at the BusinessValidation gate
    agent = _detail(d, "StartUpAgent")
    assert agent["agent_installed_by"] == "user (preinstalled)"
    assert agent["matched_by"] == {"mac": "fa:16:3e:00:00:20", "ip": "192.168.1.20"}
    assert agent["waited_seconds"] > 0 and time.monotonic() - started >= agent["waited_seconds"]
    from huaweicloudsdksms.v3 import ShowTaskRequest

    cloud = d.cloud()
    [task] = cloud.sms.list_tasks()
    raw = cloud.sms.call("show_task", ShowTaskRequest(task_id=task.id)).to_json_object()
    assert (raw["type"], raw["os_type"]) == ("MIGRATE_BLOCK", "WINDOWS")  # block-level, as Windows migrates
    assert [s.name for s in task.sub_tasks][:1] == ["MIGRATE_WINDOWS_BLOCK"]
    verified = _detail(d, "VerifyConsistency")["verification"]
    assert verified["engine"] == "huawei-sms" and verified["clean"] is True  # which check ran, said so
    assert verified["results"] == [{"dir": "C:", "total": 61234, "different": 0, "missing": 0, "extra": 0}]

    for _ in range(2):
        assert d.cli("approve", str(d.stack), "--all-waiting", "--by", "alice").returncode == 0
        run = d.cli("apply", str(d.stack), "--auto-approve", timeout=300)
    assert run.returncode == 0 and "Apply complete." in run.stdout, run.stdout + run.stderr
    assert "installed by you" in _detail(d, "SourceClear")["agent_left"]  # mgc-iac leaves the user's agent alone
    status = d.status()["win-01"]
    assert status["state"] == "done" and status["verification"]["label"] == "the SMS-Agent's own check (size and mtime)"


def test_a_preinstalled_agent_that_never_registers_times_out_with_the_fix(windows: Demo) -> None:
    d = windows
    d.edit("sources.yaml", lambda doc: doc["sources"][0].update(mac="fa:16:3e:00:00:99", agent_wait_minutes=0.1))
    run = d.cli("apply", str(d.stack), "--auto-approve", timeout=300)
    assert run.returncode != 0
    out = run.stdout + run.stderr
    assert "did not register with SMS within 0.1 min" in out and "install SMS-Agent-Py3.exe" in out
    # the lab's Windows server registered, with the stack's IP but another MAC: named, not taken
    assert "not matching both: win-01 (MACs fa:16:3e:00:00:20, IP 192.168.1.20)" in out
    assert d.cloud().sms.list_tasks() == []
