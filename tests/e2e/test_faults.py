"""Faults during a real migration (the demo's web-01 alone), through the CLI, with real lab hosts.

The faults are injected into the lab hosts process with `inject_fault` (what a cable pull or a reboot does
to the host: its SSH connections abort, or every process inside it is killed); nothing else is mocked.
A bandwidth limit slows the copy so the fault lands in the middle of it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mgc_iac.lab.hosts import inject_fault

from .helpers import Demo, host_processes, lab_secrets, ps_on, same_tree, wait_for

WEB = "shop-wave-1/web-01"
DIRS = ("srv/app", "data")


def only_web(demo: Demo, *, files: int = 120, mbps: int | None = 40, disk_mb: int | None = None) -> None:
    """web-01 alone, `files` files on it, the copy limited to `mbps`; optionally a small target disk."""
    def sources(doc: dict[str, Any]) -> None:
        doc["sources"] = [s for s in doc["sources"] if s["name"] == "web-01"]
        doc["migration_plans"][0]["servers"] = ["web-01"]

    def workflows(doc: dict[str, Any]) -> None:
        wf = doc["workflows"][0]
        wf["servers"] = {"web-01": wf["servers"]["web-01"]}
        wf["advanced"]["bandwidth_limit_mbps"] = mbps
        if mbps is None:
            del wf["advanced"]["bandwidth_limit_mbps"]

    def seed(doc: dict[str, Any]) -> None:
        for host in doc["hosts"]:
            if host["name"] == "web-01":
                host["files"]["count"] = files
            if host["name"] == "web-01-hw" and disk_mb:
                host["disk_size_mb"] = disk_mb
        doc["hosts"] = [h for h in doc["hosts"] if h["name"] in ("web-01", "web-01-hw")]

    demo.edit("sources.yaml", sources)
    demo.edit("workflows.yaml", workflows)
    demo.edit("lab-seed.yaml", seed)


def mid_copy(demo: Demo, low: float = 0.15, high: float = 0.7) -> None:
    """Wait until web-01's full replication is between `low` and `high` done (what SMS shows)."""
    from mgc_iac.lab import running

    wait_for(lambda: running(demo.lab_dir), timeout=30)  # the apply starts the lab (from the stack's seed)
    sms = demo.cloud().sms

    def now() -> bool:
        tasks = sms.list_tasks()
        task = tasks[0] if tasks else None
        if not (task and task.state == "RUNNING"):
            return False
        source = sms.show_source(task.source_id)   # the byte counts are the source's (replicatesize/totalsize)
        return bool(source.total_bytes and low < source.replicated_bytes / source.total_bytes < high)

    wait_for(now, timeout=60, every=0.02)


def inodes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_ino for d in DIRS for p in (root / d).rglob("*.bin")
            if p.is_file() and ".mgc-part" not in p.parts}


def assert_migrated(demo: Demo) -> None:
    for d in DIRS:
        assert same_tree(demo.root("web-01") / d, demo.root("web-01-hw") / d) == [], d
    assert demo.status()["web-01"]["verification"]["clean"] is True


def test_a_network_drop_mid_copy_fails_the_step_and_retry_resumes_without_recopying(demo: Demo) -> None:
    only_web(demo)
    apply = demo.popen("apply", str(demo.stack), "--auto-approve")
    mid_copy(demo)
    seen = ps_on(demo, "web-01")  # during the copy: the agent and its rsync run on the source, no key in argv
    assert "linuxmain" in seen and "rsync" in seen and not any(s in seen for s in lab_secrets(demo))
    assert inject_fault(demo.hosts_dir, "web-01-hw", "drop") + inject_fault(demo.hosts_dir, "web-01", "drop") > 0
    out, _ = apply.communicate(timeout=120)
    assert apply.returncode == 1, out
    web = demo.status()["web-01"]
    assert (web["current_step"], web["state"]) == ("StartMigration", "failed")
    assert "MIGRATE_FAIL" in web["error"]
    source = {k: (demo.root("web-01") / k).stat().st_size for k in inodes(demo.root("web-01"))}
    finished = {k: v for k, v in inodes(demo.root("web-01-hw")).items()
                if (demo.root("web-01-hw") / k).stat().st_size == source.get(k)}
    assert 0 < len(finished) < len(source)  # the drop landed in the middle of the copy

    retry = demo.cli("retry", str(demo.stack), WEB)
    assert retry.returncode == 0 and "StartMigration will run again" in retry.stdout, retry.stdout + retry.stderr
    run = demo.cli("apply", str(demo.stack), "--auto-approve")
    assert run.returncode == 3, run.stdout + run.stderr  # on to BusinessValidation
    after = inodes(demo.root("web-01-hw"))
    assert {k: after[k] for k in finished} == finished  # files copied before the drop were not copied again
    assert_migrated(demo)


def test_b_source_reboot_needs_a_full_retry_which_completes_the_migration(demo: Demo) -> None:
    only_web(demo)
    apply = demo.popen("apply", str(demo.stack), "--auto-approve")
    mid_copy(demo)
    assert inject_fault(demo.hosts_dir, "web-01", "power_off") > 0  # the agent and rsync die with the "reboot"
    out, _ = apply.communicate(timeout=120)
    assert apply.returncode == 1, out
    web = demo.status()["web-01"]
    assert (web["current_step"], web["state"]) == ("StartMigration", "failed")
    assert "the agent on web-01 is gone" in web["error"] and f"retry --full <stack dir of demo> {WEB}" in web["error"]
    assert [c for _, c, _ in host_processes(demo, "web-01") if c == "linuxmain"] == []  # it died with the host

    full = demo.cli("retry", str(demo.stack), WEB, "--full")
    assert full.returncode == 0, full.stdout + full.stderr
    run = demo.cli("apply", str(demo.stack), "--auto-approve")
    assert run.returncode == 3, run.stdout + run.stderr
    assert f"{WEB}/StartUpAgent: done" in run.stderr  # a new agent, a new task, a full replication
    assert_migrated(demo)


def test_c_a_file_changed_after_the_full_copy_is_caught_by_the_next_synchronization(demo: Demo) -> None:
    only_web(demo, files=60, mbps=None)
    run = demo.cli("apply", str(demo.stack), "--auto-approve")
    assert run.returncode == 3, run.stdout + run.stderr
    src, tgt = demo.root("web-01"), demo.root("web-01-hw")
    changed = next(iter(sorted((src / "data").rglob("*.bin"))))
    gone = sorted((src / "srv/app").rglob("*.bin"))[-1]
    with changed.open("ab") as f:  # the application writes on the source while it waits for validation
        f.write(b"new orders\n")
    (src / "data" / "orders-new.csv").write_text("id,total\n1,9.90\n")
    gone.unlink()
    assert same_tree(src / "data", tgt / "data") != []

    sync = demo.cli("sync", str(demo.stack), WEB)
    assert sync.returncode == 0, sync.stdout + sync.stderr
    run = demo.cli("apply", str(demo.stack), "--auto-approve")
    assert run.returncode == 3, run.stdout + run.stderr  # BusinessValidation again, after the new sync
    assert f"{WEB}/StartSynchronization: done" in run.stderr
    assert (tgt / changed.relative_to(src)).read_bytes().endswith(b"new orders\n")
    assert (tgt / "data" / "orders-new.csv").read_text() == "id,total\n1,9.90\n"
    assert not (tgt / gone.relative_to(src)).exists()
    assert_migrated(demo)


def test_d_a_full_target_disk_fails_clearly_and_nothing_is_reported_done(demo: Demo) -> None:
    only_web(demo, files=120, mbps=None, disk_mb=8)
    run = demo.cli("apply", str(demo.stack), "--auto-approve")
    hosts = json.loads((demo.hosts_dir / "hosts.json").read_text())
    if not hosts["web-01-hw"]["quota_enforced"]:
        pytest.skip("this machine cannot mount a size-limited root for a lab host (needs root)")
    assert run.returncode == 1, run.stdout + run.stderr
    web = demo.status()["web-01"]
    assert (web["current_step"], web["state"]) == ("StartMigration", "failed")
    assert "ran out of disk space" in web["error"]
    [task] = demo.cloud().sms.list_tasks()
    assert task.state == "MIGRATE_FAIL"
    source = demo.cloud().sms.show_source(task.source_id)
    assert all(s.progress < 100 for s in task.sub_tasks) and source.replicated_bytes < source.total_bytes


def test_e_a_killed_agent_fails_the_wait_at_once_and_only_a_full_retry_starts_it_again(demo: Demo) -> None:
    import os
    import signal

    only_web(demo)
    apply = demo.popen("apply", str(demo.stack), "--auto-approve")
    mid_copy(demo)
    [agent] = [pid for pid, comm, _ in host_processes(demo, "web-01") if comm == "linuxmain"]
    os.kill(agent, signal.SIGKILL)  # the SMS-Agent process on the source is killed (the host keeps running)
    out, _ = apply.communicate(timeout=60)  # the engine's wait notices at once instead of waiting for 24 h
    assert apply.returncode == 1, out
    web = demo.status()["web-01"]
    assert (web["current_step"], web["state"]) == ("StartMigration", "failed")
    assert "the agent on web-01 is gone" in web["error"]

    # a Retry runs the step again, but nothing restarts the agent: the step fails again, saying so
    assert demo.cli("retry", str(demo.stack), WEB).returncode == 0
    again = demo.cli("apply", str(demo.stack), "--auto-approve")
    assert again.returncode == 1 and "the agent on web-01 is gone" in again.stdout + again.stderr
    # a Full Retry starts it from StartUpAgent: the same package, started again, a new task, a full copy
    assert demo.cli("retry", str(demo.stack), WEB, "--full").returncode == 0
    run = demo.cli("apply", str(demo.stack), "--auto-approve")
    assert run.returncode == 3, run.stdout + run.stderr
    assert [c for _, c, _ in host_processes(demo, "web-01") if c == "linuxmain"] == ["linuxmain"]
    assert_migrated(demo)
