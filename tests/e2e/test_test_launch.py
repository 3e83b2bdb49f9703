"""Test launch end to end, as a user runs it on the lab (instant transfers OFF: the SMS-Agent copies real files,
the lab hosts run the checks): a clone of each target (SMS clone_test) starts as a server of its own with the
migrated files, automated checks run on it over SSH and from the controller before TestValidation, TestCleanup
deletes it; a target test (SMS test) with a failing check is passed only with `approve --override-checks`,
which the status and the report keep."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import http_service

from .helpers import Demo

CHECK = "hostname; test -d /data && echo files: $(find /data -type f | wc -l)"


@pytest.fixture
def health() -> Iterator[str]:
    with http_service(lambda path: (200 if path == "/health" else 404, b"ok", {})) as url:
        yield url


def servers(demo: Demo) -> set[str]:
    out = demo.cli("lab", "ls", "servers", "--format", "json")
    assert out.returncode == 0, out.stderr
    return {s["name"] for s in json.loads(out.stdout)}


def test_clone_test_launch_with_automated_checks(demo: Demo, health: str) -> None:
    stack = str(demo.stack)

    def clone(doc: Any) -> None:
        doc["workflows"][0]["test_launch"] = "clone"
        doc["workflows"][0]["validation"] = {"checks": [{"name": "data", "command": CHECK},
                                                        {"name": "health", "http": f"{health}/health"}]}

    demo.edit("workflows.yaml", clone)
    plan = demo.cli("plan", stack)
    assert "TestLaunch" in plan.stdout and "waits for approval of shop-wave-1/web-01/TestValidation" in plan.stdout
    run = demo.cli("apply", stack, "--auto-approve", timeout=300)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "shop-wave-1/web-01/TestValidation: needs 1 approval(s)" in run.stdout
    assert "checks: 2 of 2 passed" in run.stdout
    assert {"web-01-hw-clone", "db-01-hw-clone"} <= servers(demo)          # servers of their own in ECS
    web = demo.status()["web-01"]
    data = {c["name"]: c for c in web["checks"]["TestValidation"]}
    assert data["data"]["passed"] and data["data"]["on"] == "web-01-hw-clone"
    assert data["data"]["output"].splitlines()[0] == "web-01-hw-clone"    # it ran ON the clone
    assert int(data["data"]["output"].split("files: ")[1]) > 0            # which has the migrated files
    assert data["health"]["passed"] and data["health"]["on"] == "controller"
    assert (demo.root("web-01-hw-clone") / "data").is_dir()

    assert demo.cli("approve", stack, "--all-waiting", "--by", "alice").returncode == 0
    run = demo.cli("apply", stack, "--auto-approve", timeout=300)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "shop-wave-1/web-01/BusinessValidation: needs" in run.stdout
    assert not {"web-01-hw-clone", "db-01-hw-clone"} & servers(demo)       # TestCleanup deleted them
    assert not demo.root("web-01-hw-clone").exists()                       # and their hosts
    web = demo.status()["web-01"]
    assert web["checks"]["BusinessValidation"][0]["output"].splitlines()[0] == "web-01-hw"  # now the target

    for _ in ("BusinessValidation", "Cutover"):
        assert demo.cli("approve", stack, "--all-waiting", "--by", "alice").returncode == 0
        run = demo.cli("apply", stack, "--auto-approve", timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    report = demo.stack.parent / "report.html"
    assert demo.cli("report", stack, "--out", str(report)).returncode == 0
    assert "Automated checks before TestValidation" in report.read_text()


def test_target_test_with_a_failed_check_needs_an_override(demo: Demo) -> None:
    stack = str(demo.stack)

    def target(doc: Any) -> None:
        doc["workflows"][0]["test_launch"] = "target"
        doc["workflows"][0]["validation"] = {"checks": [{"name": "nginx", "command": "test -f /etc/nginx/ok"}]}

    demo.edit("workflows.yaml", target)
    run = demo.cli("apply", stack, "--auto-approve", timeout=300)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "checks: 0 of 1 passed; failed: nginx (exit 1)" in run.stdout
    cloud = demo.cloud()
    task = next(t for t in cloud.sms.list_tasks() if t.name.startswith("mgc-web-01-"))   # mgc-<server>-<digest>
    assert cloud.sms.show_source(task.source_id).state == "stopped"        # SMS test: the sync pauses

    assert demo.cli("approve", stack, "--all-waiting", "--by", "alice").returncode == 0
    run = demo.cli("apply", stack, "--auto-approve", timeout=300)
    assert run.returncode == 3 and "a failed check blocks the gate" in run.stdout, run.stdout
    approved = demo.cli("approve", stack, "--all-waiting", "--by", "alice", "--override-checks")
    assert approved.returncode == 0 and "OVERRIDING failed automated checks" in approved.stdout, approved.stdout
    run = demo.cli("apply", stack, "--auto-approve", timeout=300)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "shop-wave-1/web-01/BusinessValidation: needs" in run.stdout
    assert cloud.sms.show_source(task.source_id).state == "syncing"        # TestCleanup: the sync resumed
    web = demo.status()["web-01"]
    assert web["checks"]["TestValidation"][0]["passed"] is False
    report = demo.stack.parent / "report.html"
    assert demo.cli("report", stack, "--out", str(report)).returncode == 0
    html = report.read_text()
    assert "failed checks OVERRIDDEN by alice" in html and "overriding failed checks" in html
