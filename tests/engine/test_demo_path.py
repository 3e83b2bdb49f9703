"""The demo path through the CLI, on a real lab (background process, signed SDK calls, instant transfers):
apply stops at BusinessValidation (exit 3), approve, apply stops at Cutover (exit 3), approve, apply ends (0);
the targets exist as ECS servers with encrypted disks and the spec's tags."""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from mgc_iac.cli import cli


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_demo_stack_applies_through_both_gates(stack_dir: Path, lab_dir: Path) -> None:
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    assert "shop-wave-1/web-01/BusinessValidation: needs 1 approval(s)" in out
    assert "shop-wave-1/db-01/BusinessValidation" in out
    digest = re.search(r"Waiting for approval of plan (sha256:[0-9a-f]{64})", out).group(1)
    # the digest apply printed is the one a fresh plan of the same spec and state has
    code, out = run("plan", str(stack_dir), "--format", "json")
    assert code == 0 and json.loads(out)["digest"] == digest

    code, out = run("status", str(stack_dir), "--format", "json")
    servers = json.loads(out)["workflows"][0]["servers"]
    assert {(s["server"], s["current_step"], s["state"]) for s in servers} == {
        ("web-01", "BusinessValidation", "waiting"), ("db-01", "BusinessValidation", "waiting")}

    code, out = run("approve", str(stack_dir), "--gate", "shop-wave-1/web-01/BusinessValidation",
                    "--gate", "shop-wave-1/db-01/BusinessValidation", "--by", "alice")
    assert code == 0 and digest in out, out
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    assert "shop-wave-1/web-01/Cutover: needs" in out and "BusinessValidation: needs" not in out

    code, out = run("approve", str(stack_dir), "--all-waiting", "--by", "bob")
    assert code == 0, out
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 0, out
    assert "Apply complete." in out

    code, out = run("status", str(stack_dir), "--format", "json")
    assert {s["state"] for s in json.loads(out)["workflows"][0]["servers"]} == {"done"}
    code, out = run("plan", str(stack_dir), "--format", "json")
    assert json.loads(out)["summary"]["create"] == 0  # cleared tasks and cut-over targets are not recreated

    from mgc_iac.cloud import Cloud, CloudSettings
    from mgc_iac.lab import ensure_lab

    cloud = Cloud(CloudSettings.for_lab(ensure_lab(lab_dir)))
    key = cloud.kms.describe_key("shop-disk-key")
    for name, disks in (("web-01-hw", 1), ("db-01-hw", 2)):
        [server] = cloud.ecs.find_servers(name=name)
        assert server.status == "ACTIVE"  # start_target_after_migration: true
        assert server.tags == {"app": "shop", "owner": "platform"}
        volumes = [cloud.evs.show_volume(v) for v in server.volume_ids]
        assert len(volumes) == disks
        assert all(v.encrypted and v.kms_key_id == key.key_id for v in volumes)
    assert cloud.sms.list_tasks() == []  # MigrationTaskClear deleted the tasks


def test_an_edited_or_stale_plan_file_is_refused(stack_dir: Path, lab_dir: Path, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    assert run("plan", str(stack_dir), "--out", str(plan_file))[0] == 0
    body = json.loads(plan_file.read_text())
    body["servers"][0]["target_name"] = "edited"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(body))
    result = CliRunner().invoke(cli, ["apply", str(edited), "--stack-dir", str(stack_dir)])
    assert result.exit_code != 0 and "edited" in str(result.exception)

    code, out = run("apply", str(plan_file), "--stack-dir", str(stack_dir))
    assert code == 3, out
    result = CliRunner().invoke(cli, ["apply", str(plan_file), "--stack-dir", str(stack_dir)])
    assert result.exit_code != 0 and "state serial" in str(result.exception)
