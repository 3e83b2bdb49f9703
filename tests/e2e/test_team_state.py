"""Team state on PostgreSQL, through the real CLI against the lab and a real PostgreSQL server: two runners (two
clones, two HOMEs) see one state; the lock is refused before planning; a password never enters a URL; the
pipeline apply returns at --max-wait (exit 4) while the cloud goes on and the next apply picks it up; `status
--watch` follows without the lock; `state migrate` copies SQLite <-> PostgreSQL with a re-plan unchanged."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import yaml

from .helpers import Demo


def _on_postgres(demo: Demo, pg_server, url: str) -> None:
    demo.env["MGC_IAC_STATE"] = url
    demo.env["PGPASSWORD"] = pg_server.password


def _clone(demo: Demo, tmp_path: Path, name: str) -> tuple[Path, dict[str, str]]:
    """Another runner: its own copy of the stack (a fresh clone) and its own HOME, the same lab (cloud)."""
    clone = tmp_path / name / "demo"
    shutil.copytree(demo.stack, clone)
    home = tmp_path / name / "home"
    home.mkdir()
    return clone, {**demo.env, "HOME": str(home)}


def _cli(env: dict[str, str], cwd: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mgc_iac", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def test_two_runners_plan_and_apply_one_stack_in_turn_and_see_one_state(demo: Demo, pg_server, pg_url, tmp_path):
    # runner A names the backend in the environment, runner B in the stack (state: {url: ...})
    _on_postgres(demo, pg_server, pg_url)
    first = demo.cli("apply", str(demo.stack), "--auto-approve", timeout=180)
    assert first.returncode == 3, first.stdout + first.stderr
    clone, env = _clone(demo, tmp_path, "runner-b")
    env.pop("MGC_IAC_STATE")
    (clone / "state.yaml").write_text(yaml.safe_dump({"state": {"url": pg_url}}))
    plan = _cli(env, clone.parent, "plan", str(clone))
    assert plan.returncode == 0, plan.stderr
    assert "Plan: 0 to create" in plan.stdout  # not "create everything again": B sees what A did
    assert _cli(env, clone.parent, "approve", str(clone), "--all-waiting", "--by", "alice").returncode == 0
    second = _cli(env, clone.parent, "apply", str(clone), "--auto-approve")
    assert second.returncode == 3, second.stdout + second.stderr
    assert "shop-wave-1/web-01/Cutover: needs" in second.stdout
    # and runner A sees B's progress
    status = json.loads(demo.cli("status", str(demo.stack), "--format", "json").stdout)
    assert {s["current_step"] for wf in status["workflows"] for s in wf["servers"]} == {"Cutover"}
    assert len(demo.cloud().ecs.find_servers(name="web-01-hw")) == 1


def test_a_held_lock_is_refused_before_planning(demo: Demo, pg_server, pg_url):
    _on_postgres(demo, pg_server, pg_url)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys
        from mgc_iac.state import open_store
        with open_store({pg_url!r}).lock("demo", "apply") as info:
            print(info.lock_id, flush=True)
            sys.stdin.readline()
    """)], env={**demo.env, "CI_JOB_ID": "777"}, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        lock_id = holder.stdout.readline().strip()
        run = demo.cli("apply", str(demo.stack), "--auto-approve")
        assert run.returncode == 1
        assert f"locked by pid {holder.pid}" in run.stderr and "runner CI_JOB_ID=777" in run.stderr
        assert f"state unlock --force {lock_id}" in run.stderr
        assert "Plan:" not in run.stdout  # refused before the plan was made and shown
    finally:
        holder.communicate("\n", timeout=20)


def test_a_password_in_the_state_url_is_refused_and_never_shown(demo: Demo, pg_server, pg_url):
    secret_url = pg_url.replace("mgc@", "mgc:s3cret-pw@")
    (demo.stack / "state.yaml").write_text(yaml.safe_dump({"state": {"url": secret_url}}))
    demo.env.pop("MGC_IAC_STATE")
    run = demo.cli("plan", str(demo.stack))
    assert run.returncode == 1
    assert "state.yaml:2: state.url" in run.stdout + run.stderr and "PGPASSWORD" in run.stdout + run.stderr
    assert "s3cret-pw" not in run.stdout + run.stderr
    (demo.stack / "state.yaml").unlink()
    demo.env["MGC_IAC_STATE"] = secret_url
    run = demo.cli("plan", str(demo.stack))
    assert run.returncode == 1 and "carries a password" in run.stderr
    assert "s3cret-pw" not in run.stdout + run.stderr and "Traceback" not in run.stderr


def test_max_wait_returns_while_the_cloud_works_and_the_next_apply_picks_it_up(demo: Demo, pg_server, pg_url):
    _on_postgres(demo, pg_server, pg_url)
    # slow replication (real bytes at 12 Mbit/s: about 35 s and 55 s here): a copy outlasts a whole job's time limit
    # (25 s), so the job that starts it returns while it still copies
    demo.edit("workflows.yaml", lambda d: d["workflows"][0]["advanced"].update(bandwidth_limit_mbps=12))
    # the pipeline's job runs apply with --max-wait until the cloud copies: every run returns 4 at its limit (not
    # after the copy), and the next picks up where the cloud is; under load CreateTarget and StartUpAgent
    # (startup.sh's prompts answered one by one) may take more than one run, so the test waits for that event,
    # not for a wall-clock guess of when it comes
    for _job in range(4):
        started = time.monotonic()
        run = demo.cli("apply", str(demo.stack), "--auto-approve", "--max-wait", "25s")
        took = time.monotonic() - started
        assert run.returncode == 4, run.stdout + run.stderr
        assert "In progress" in run.stdout and took < 45
        servers = demo.status()
        if {s["current_step"] for s in servers.values()} == {"StartMigration"}:
            break
    else:
        raise AssertionError(f"four runs of 25 s did not reach StartMigration: {servers}")
    assert {s["state"] for s in servers.values()} == {"running"}, servers
    cloud = demo.cloud()
    tasks = {t.name: t for t in cloud.sms.list_tasks()}
    # still at work in the cloud: copying, copied, or (a small source's copy done) in continuous sync
    assert len(tasks) == 2 and {t.state for t in tasks.values()} <= {"RUNNING", "MIGRATE_SUCCESS", "READY", "SYNCING"}

    # status --watch follows the next apply from another process, without taking the lock
    watcher = demo.popen("status", str(demo.stack), "--watch", "--interval", "0.5")
    second = demo.cli("apply", str(demo.stack), "--auto-approve", "--max-wait", "3m", timeout=240)
    assert second.returncode == 3, second.stdout + second.stderr
    out, _ = watcher.communicate(timeout=60)
    assert watcher.returncode == 0, out
    assert "BusinessValidation" in out and "waiting" in out and "nothing is running" in out
    # the in-flight replications were picked up where the cloud had them: the same tasks, no second target
    assert {t.name for t in cloud.sms.list_tasks()} == set(tasks)
    assert len(cloud.ecs.find_servers(name="web-01-hw")) == 1
    journal = [line.split() for line in demo.cli("state", "journal", str(demo.stack), "--limit", "500").stdout
               .splitlines()]
    phases = [(j[2], j[3]) for j in journal]
    assert ("interrupted", "shop-wave-1/web-01/StartMigration") in phases  # a run at its limit let go of it...
    assert phases.count(("after", "shop-wave-1/web-01/StartMigration")) == 1  # ...and it was finished once
    steps = {s["server"]: s for s in demo.status().values()}
    assert {s["current_step"] for s in steps.values()} == {"BusinessValidation"}


def test_state_migrate_sqlite_to_postgresql_and_back_replans_unchanged(demo: Demo, pg_server, pg_url, tmp_path):
    run = demo.cli("apply", str(demo.stack), "--auto-approve", timeout=180)  # on the default SQLite state
    assert run.returncode == 3, run.stdout + run.stderr
    before = demo.cli("plan", str(demo.stack), "--format", "json").stdout
    demo.env["PGPASSWORD"] = pg_server.password
    moved = demo.cli("state", "migrate", str(demo.stack), "--to", pg_url)
    assert moved.returncode == 0, moved.stdout + moved.stderr
    assert "copied stack demo" in moved.stdout and "digest" in moved.stdout
    sqlite_state = demo.env["MGC_IAC_STATE"]
    demo.env["MGC_IAC_STATE"] = pg_url
    assert demo.cli("plan", str(demo.stack), "--format", "json").stdout == before
    again = demo.cli("state", "migrate", str(demo.stack), "--to", pg_url)
    assert again.returncode == 1 and "already has state" in again.stderr  # never overwrites
    back = tmp_path / "back" / "state.db"
    assert demo.cli("state", "migrate", str(demo.stack), "--to", str(back)).returncode == 0
    demo.env["MGC_IAC_STATE"] = str(back)
    assert demo.cli("plan", str(demo.stack), "--format", "json").stdout == before
    assert sqlite_state != str(back)
    # the copy is a working backend: the migration goes on from it
    assert demo.cli("approve", str(demo.stack), "--all-waiting", "--by", "alice").returncode == 0
    run = demo.cli("apply", str(demo.stack), "--auto-approve")
    assert run.returncode == 3 and "Cutover: needs" in run.stdout, run.stdout + run.stderr
