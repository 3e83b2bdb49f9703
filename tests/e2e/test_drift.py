"""Drift on the lab: changes made behind mgc-iac's back, through the official SDK as a person in the console
would make them (never by editing the lab's database), then `plan --refresh` and `apply`.

The demo is applied to its first gates (BusinessValidation) or to the end (past Cutover) first.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from .helpers import Demo

WEB, DB = "shop-wave-1/web-01", "shop-wave-1/db-01"


class Console:
    """The official SDK clients against the demo's lab, with the lab account's keys: what the console does."""

    def __init__(self, demo: Demo) -> None:
        from huaweicloudsdkcore.auth.credentials import BasicCredentials
        from huaweicloudsdkcore.http.http_config import HttpConfig
        from huaweicloudsdkecs.v2 import EcsClient
        from huaweicloudsdksms.v3 import SmsClient

        from mgc_iac.lab import ensure_lab

        lab = ensure_lab(demo.lab_dir)
        creds = BasicCredentials(lab.ak, lab.sk, lab.project_id)
        config = HttpConfig.get_default_config()
        self.ecs = (EcsClient.new_builder().with_http_config(config).with_credentials(creds)
                    .with_endpoints([lab.url]).build())
        self.sms = (SmsClient.new_builder().with_http_config(config).with_credentials(creds)
                    .with_endpoints([lab.url]).build())

    def server(self, name: str) -> Any | None:
        from huaweicloudsdkecs.v2 import ListServersDetailsRequest

        servers = self.ecs.list_servers_details(ListServersDetailsRequest(name=name)).servers or []
        return next((s for s in servers if s.name == name), None)

    def delete_server(self, name: str) -> str:
        from huaweicloudsdkecs.v2 import DeleteServersRequest

        server = self.server(name)
        body = {"servers": [{"id": server.id}], "delete_publicip": True, "delete_volume": True}
        self.ecs.delete_servers(DeleteServersRequest(body=body))
        return server.id

    def set_tag(self, name: str, key: str, value: str) -> None:
        from huaweicloudsdkecs.v2 import BatchCreateServerTagsRequest

        body = {"action": "create", "tags": [{"key": key, "value": value}]}
        self.ecs.batch_create_server_tags(BatchCreateServerTagsRequest(server_id=self.server(name).id, body=body))

    def tags(self, name: str) -> dict[str, str]:
        return dict(t.partition("=")[::2] for t in (self.server(name).tags or []))

    def stop(self, name: str) -> None:
        from huaweicloudsdkecs.v2 import BatchStopServersRequest

        body = {"os-stop": {"type": "SOFT", "servers": [{"id": self.server(name).id}]}}
        self.ecs.batch_stop_servers(BatchStopServersRequest(body=body))

    def delete_task_of(self, server_name: str) -> str:
        """As someone in the console would: a task still synchronising (its agent connected) is paused first,
        since SMS refuses to delete it (DeleteTask's rule), then deleted."""
        import time

        from huaweicloudsdksms.v3 import (
            DeleteTaskRequest,
            ListTasksRequest,
            ShowTaskRequest,
            UpdateTaskStatusReq,
            UpdateTaskStatusRequest,
        )

        tasks = self.sms.list_tasks(ListTasksRequest(limit=100, offset=0)).tasks or []
        task = next(t for t in tasks if t.target_server and t.target_server.name == server_name)
        if task.state in ("RUNNING", "SYNCING"):
            self.sms.update_task_status(UpdateTaskStatusRequest(task_id=task.id,
                                                                body=UpdateTaskStatusReq(operation="stop")))
            while self.sms.show_task(ShowTaskRequest(task_id=task.id)).state != "ABORT":
                time.sleep(0.1)
        self.sms.delete_task(DeleteTaskRequest(task_id=task.id))
        return task.id


def spec_tags(demo: Demo) -> dict[str, str]:
    return yaml.safe_load((demo.stack / "workflows.yaml").read_text())["workflows"][0]["advanced"]["tags"]


def to_first_gates(demo: Demo) -> None:
    plan = demo.cli("plan", str(demo.stack), "--out", "plan.json")
    assert plan.returncode == 0, plan.stderr
    applied = demo.cli("apply", "plan.json", "--stack-dir", str(demo.stack), timeout=300)
    assert applied.returncode == 3, applied.stdout + applied.stderr


def to_the_end(demo: Demo) -> None:
    to_first_gates(demo)
    for _ in ("BusinessValidation", "Cutover"):
        approved = demo.cli("approve", str(demo.stack), "--all-waiting", "--by", "reviewer@example.com")
        assert approved.returncode == 0, approved.stderr
        applied = demo.cli("apply", str(demo.stack), "--auto-approve", timeout=300)
        assert applied.returncode in (0, 3), applied.stdout + applied.stderr
    assert applied.returncode == 0, applied.stdout + applied.stderr


def drift_of(demo: Demo) -> list[dict[str, Any]]:
    out = demo.cli("plan", str(demo.stack), "--refresh", "--format", "json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["drift"]


def test_deleted_target_and_changed_tags_are_shown_then_repaired(demo: Demo) -> None:
    to_first_gates(demo)
    console = Console(demo)
    old_db = console.delete_server("db-01-hw")
    console.set_tag("web-01-hw", "owner", "someone-else")
    console.set_tag("web-01-hw", "added-in-console", "x")

    planned = demo.cli("plan", str(demo.stack), "--refresh", "--detailed-exitcode")
    assert planned.returncode == 2, planned.stdout + planned.stderr
    text = planned.stdout
    assert "Changed outside mgc-iac" in text
    assert f"{DB}/target_server exists: exists -> deleted (created again)" in text
    assert f'{WEB}/target_server tags.owner: "platform" -> "someone-else" (put back as the spec says)' in text
    assert f'{WEB}/target_server tags.added-in-console: (none) -> "x"' in text
    assert "2 to replace" in text and "1 to update" in text  # db-01: target and its task; web-01: tags

    markdown = demo.cli("plan", str(demo.stack), "--refresh", "--format", "markdown")
    assert "### Changed outside mgc-iac" in markdown.stdout
    assert "| `shop-wave-1/db-01/target_server` | exists | exists | deleted | created again |" in markdown.stdout

    applied = demo.cli("apply", str(demo.stack), "--auto-approve", timeout=300)
    assert applied.returncode == 3, applied.stdout + applied.stderr  # db-01 migrated again, back at its gate
    new_db = console.server("db-01-hw")
    assert new_db is not None and new_db.id != old_db
    assert console.tags("web-01-hw") == spec_tags(demo)  # owner put back, the console's tag removed
    status = demo.status()
    assert status["db-01"]["current_step"] == "BusinessValidation" and status["db-01"]["state"] == "waiting"
    assert drift_of(demo) == []
    assert demo.cli("plan", str(demo.stack), "--drift-exitcode").returncode == 0  # repaired: nothing drifted


def test_a_task_deleted_in_the_console_is_created_again(demo: Demo) -> None:
    to_first_gates(demo)
    console = Console(demo)
    old_task = console.delete_task_of("web-01-hw")
    drift = drift_of(demo)
    assert [(d["address"], d["attribute"], d["effect"]) for d in drift] == [
        (f"{WEB}/migration_task", "exists", "repair")]
    out = demo.cli("plan", str(demo.stack), "--refresh", "--format", "json")
    plan = json.loads(out.stdout)
    task = next(c for c in plan["resource_changes"] if c["address"] == f"{WEB}/migration_task")
    assert task["action"] == "replace"
    web = next(s for s in plan["servers"] if s["server"] == "web-01")
    steps = {s["step"]: s["action"] for s in web["steps"]}
    assert steps["CreateTarget"] == "done" and steps["StartUpAgent"] == "run"

    applied = demo.cli("apply", str(demo.stack), "--auto-approve", timeout=300)
    assert applied.returncode == 3, applied.stdout + applied.stderr
    tasks = demo.cloud().sms.list_tasks()
    assert old_task not in {t.id for t in tasks} and len(tasks) == 2
    assert drift_of(demo) == []


def test_a_stopped_target_is_reported_and_left_alone_before_cutover(demo: Demo) -> None:
    to_first_gates(demo)
    console = Console(demo)
    console.stop("web-01-hw")
    drift = drift_of(demo)
    assert [(d["address"], d["attribute"], d["live"], d["effect"]) for d in drift] == [
        (f"{WEB}/target_server", "status", "SHUTOFF", "report")]
    out = demo.cli("plan", str(demo.stack), "--refresh", "--format", "json")
    changes = {c["address"]: c["action"] for c in json.loads(out.stdout)["resource_changes"]}
    assert changes[f"{WEB}/target_server"] == "no-op"
    exit_code = demo.cli("plan", str(demo.stack), "--refresh", "--detailed-exitcode").returncode
    assert exit_code == 2  # drift alone is a change for a scheduled drift check
    assert demo.cli("plan", str(demo.stack), "--drift-exitcode").returncode == 2  # the scheduled check's one line
    applied = demo.cli("apply", str(demo.stack), "--auto-approve", timeout=300)
    assert applied.returncode == 3, applied.stdout + applied.stderr
    assert console.server("web-01-hw").status == "SHUTOFF"


def test_production_targets_are_never_recreated_and_tags_are_put_back(demo: Demo) -> None:
    to_the_end(demo)
    console = Console(demo)
    console.set_tag("db-01-hw", "owner", "someone-else")
    planned = demo.cli("plan", str(demo.stack), "--refresh")
    assert planned.returncode == 0, planned.stderr
    assert "tags are safe to change in production" in planned.stdout
    applied = demo.cli("apply", str(demo.stack), "--auto-approve", timeout=300)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert console.tags("db-01-hw") == spec_tags(demo)

    console.delete_server("web-01-hw")
    refused = demo.cli("plan", str(demo.stack), "--refresh")
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert f"{WEB}/target_server: target web-01-hw was deleted outside mgc-iac after its Cutover" in refused.stderr
    assert "remove the server from its workflow in the spec" in refused.stderr
    assert demo.cli("apply", str(demo.stack), "--auto-approve").returncode == 1
    assert console.server("web-01-hw") is None  # nothing was re-created

    def drop_web(doc: dict[str, Any]) -> None:
        doc["migration_plans"][0]["servers"] = ["db-01"]
        doc["sources"] = [s for s in doc["sources"] if s["name"] != "web-01"]

    def drop_override(doc: dict[str, Any]) -> None:
        doc["workflows"][0]["servers"].pop("web-01", None)

    demo.edit("sources.yaml", drop_web)
    demo.edit("workflows.yaml", drop_override)
    out = demo.cli("plan", str(demo.stack), "--refresh", "--format", "json")
    assert out.returncode == 0, out.stderr
    changes = {c["address"]: c["action"] for c in json.loads(out.stdout)["resource_changes"]}
    assert changes[f"{WEB}/target_server"] == "forget"
