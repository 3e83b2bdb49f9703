"""Prechecks over SSH before any cloud resource: a failing source stops only itself, with the remedy."""

from __future__ import annotations

from typing import Any

from .helpers import Demo


def no_rsync_on_web(doc: dict[str, Any]) -> None:
    for host in doc["hosts"]:
        if host["name"] == "web-01":
            host["rsync"] = False
        if host["name"] == "db-01":
            host["files"]["count"] = 20


def test_a_failed_precheck_stops_only_that_server_before_its_target_exists(demo: Demo) -> None:
    demo.edit("lab-seed.yaml", no_rsync_on_web)
    run = demo.cli("apply", str(demo.stack), "--auto-approve")
    assert run.returncode == 1, run.stdout + run.stderr
    status = demo.status()
    web, db = status["web-01"], status["db-01"]
    assert (web["current_step"], web["state"]) == ("CreateTarget", "failed")
    assert "prechecks failed on web-01 (nothing was created)" in web["error"]
    assert "rsync: rsync is not installed and install_rsync is off -> run `apt-get install -y rsync`" in web["error"]
    assert (db["current_step"], db["state"]) == ("BusinessValidation", "waiting")  # the other server went on
    cloud = demo.cloud()
    assert cloud.ecs.find_servers(name="web-01-hw") == []  # no cloud resource for the failing source
    assert len(cloud.ecs.find_servers(name="db-01-hw")) == 1

    # asked to install rsync: the precheck only warns, and the lab host says plainly it cannot install
    demo.edit("workflows.yaml", lambda doc: doc["workflows"][0]["advanced"].update(install_rsync=True))
    run = demo.cli("apply", str(demo.stack), "--auto-approve")
    assert run.returncode == 1, run.stdout + run.stderr
    web = demo.status()["web-01"]
    assert (web["current_step"], web["state"]) == ("StartUpAgent", "failed")
    assert "a lab host cannot install packages (on a real source mgc-iac would run `apt-get install -y rsync`)" \
        in web["error"]
    journal = demo.cli("state", "journal", str(demo.stack), "--limit", "200").stdout
    assert "web-01/CreateTarget" in journal
