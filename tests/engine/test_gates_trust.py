"""Gates nobody can forge (issue 9), tried as an attacker with a shell and write access to the repository:
a forged plan file, typed names, approvals given before a gate waits, approvals replayed in another
environment, `state unlock` of a live apply. Real CLI, real lab, real `ssh-keygen -Y` signatures."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mgc_iac.cli import cli
from mgc_iac.plan.planfile import digest_of

WEB_BV = "shop-wave-1/web-01/BusinessValidation"
DB_BV = "shop-wave-1/db-01/BusinessValidation"
WEB_CUT = "shop-wave-1/web-01/Cutover"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output + (str(result.exception) if result.exception else "")


def keygen(directory: Path, name: str) -> Path:
    key = directory / f"{name}_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    return {name: keygen(tmp_path, name) for name in ("alice", "bob", "carol")}


def signed_stack(stack_dir: Path, keys: dict[str, Path], **policy: object) -> Path:
    """The stack with an allowed_signers file in its directory; the author, carol, has two principals."""
    principals = {"alice": "alice@example.com", "bob": "bob@example.com", "carol": "carol@example.com,carol"}
    lines = [f"{principals[n]} {' '.join(k.with_suffix('.pub').read_text().split()[:2])}" for n, k in keys.items()]
    (stack_dir / "allowed_signers").write_text("\n".join(lines) + "\n")
    path = stack_dir / "stack.yaml"
    data = yaml.safe_load(path.read_text())
    data["approvals"] = {"required_approvers": 1, "allow_plan_author": True, "allowed_signers": "allowed_signers",
                         **policy}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return stack_dir


def waiting_digest(out: str) -> str:
    return re.search(r"Waiting for approval of plan (sha256:[0-9a-f]{64})", out).group(1)


def states(stack_dir: Path) -> dict[str, tuple[str, str]]:
    code, out = run("status", str(stack_dir), "--format", "json")
    assert code == 0, out
    return {s["server"]: (s["current_step"], s["state"]) for s in json.loads(out)["workflows"][0]["servers"]}


def test_a_forged_plan_file_is_refused_and_nothing_runs(stack_dir: Path, lab_dir: Path, tmp_path: Path) -> None:
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    plan_file = tmp_path / "plan.json"
    assert run("plan", str(stack_dir), "--out", str(plan_file))[0] == 0
    # the attack: every wait-for-approval turned into run, no gates, and the (unkeyed) digest recomputed
    body = json.loads(plan_file.read_text())
    for server in body["servers"]:
        for step in server["steps"]:
            if step["action"] == "wait-for-approval":
                step["action"] = "run"
    body["gates"] = []
    body["summary"]["gates"] = 0
    body["digest"] = digest_of(body)
    plan_file.write_text(json.dumps(body))

    code, out = run("apply", str(plan_file), "--stack-dir", str(stack_dir))
    assert code == 1, out
    assert "is not the plan of" in out and "refused" in out
    assert "servers shop-wave-1/web-01: steps differ: BusinessValidation run (fresh plan: wait-for-approval)" in out
    assert "gates:" in out
    assert states(stack_dir) == {"web-01": ("BusinessValidation", "waiting"),
                                 "db-01": ("BusinessValidation", "waiting")}


def test_an_unedited_plan_file_applies_the_fresh_plan(stack_dir: Path, lab_dir: Path, tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    assert run("plan", str(stack_dir), "--out", str(plan_file))[0] == 0
    code, out = run("apply", str(plan_file), "--stack-dir", str(stack_dir))
    assert code == 3 and f"{WEB_BV}: needs" in out, out


def test_typed_names_do_not_open_a_gate_that_requires_signatures(stack_dir: Path, lab_dir: Path,
                                                                  keys: dict[str, Path]) -> None:
    signed_stack(stack_dir, keys)
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    digest = waiting_digest(out)
    assert f"--gate {WEB_BV}" in out and "--key" in out  # apply tells how to approve: with a key
    (stack_dir / "approvals.yaml").write_text(yaml.safe_dump({"approvals": [
        {"gates": [WEB_BV, DB_BV], "by": "Totally Real CTO", "plan_digest": digest}]}))
    code, out = run("approve", str(stack_dir), "--all-waiting", "--by", "Totally Real CTO")
    assert code == 1 and "requires signed approvals" in out and "--by is refused" in out, out

    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    assert states(stack_dir)["web-01"] == ("BusinessValidation", "waiting")


def test_one_key_is_one_person_however_it_is_spelled(stack_dir: Path, lab_dir: Path, keys: dict[str, Path]) -> None:
    signed_stack(stack_dir, keys, required_approvers=2)
    assert run("apply", str(stack_dir), "--auto-approve")[0] == 3
    # carol's key is listed as "carol@example.com,carol": two spellings, one person
    code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--key", str(keys["carol"]))
    assert code == 0 and "carol@example.com approved" in out, out
    code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--key", str(keys["carol"]), "--by", "carol")
    assert code == 1 and "the key belongs to carol@example.com" in out, out
    code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--key", str(keys["carol"]))
    assert code == 0 and "still waiting" in out and "has 1 (carol@example.com)" in out, out
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3 and f"{WEB_BV}: needs 2 approval(s)" in out, out

    code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--key", str(keys["alice"]), "--to-file")
    assert code == 0 and "Appended to" in out, out
    entry = yaml.safe_load((stack_dir / "approvals.yaml").read_text())["approvals"][0]
    assert entry["by"] == "alice@example.com" and entry["signature"].startswith("-----BEGIN SSH SIGNATURE-----")
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    assert states(stack_dir)["web-01"] == ("Cutover", "waiting")  # alice + carol: two people
    assert states(stack_dir)["db-01"] == ("BusinessValidation", "waiting")


def test_a_signed_entry_with_another_name_or_an_edited_gate_does_not_count(stack_dir: Path, lab_dir: Path,
                                                                            keys: dict[str, Path]) -> None:
    signed_stack(stack_dir, keys)
    assert run("apply", str(stack_dir), "--auto-approve")[0] == 3
    assert run("approve", str(stack_dir), "--gate", WEB_BV, "--key", str(keys["alice"]), "--to-file")[0] == 0
    path = stack_dir / "approvals.yaml"
    data = yaml.safe_load(path.read_text())
    data["approvals"][0]["by"] = "alice\u200b@example.com"  # a zero-width space
    data["approvals"].append({**data["approvals"][0], "by": "alice@example.com", "gates": [DB_BV]})
    path.write_text(yaml.safe_dump(data))
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    assert "but the signature is alice@example.com's" in out
    assert "does not verify" in out
    assert states(stack_dir) == {"web-01": ("BusinessValidation", "waiting"),
                                 "db-01": ("BusinessValidation", "waiting")}


def test_a_gate_that_does_not_wait_yet_cannot_be_approved(stack_dir: Path, lab_dir: Path,
                                                          keys: dict[str, Path]) -> None:
    signed_stack(stack_dir, keys)
    code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--key", str(keys["alice"]))
    assert code == 1 and "not waiting yet" in out, out  # a fresh plan: nothing waits
    assert run("apply", str(stack_dir), "--auto-approve")[0] == 3
    code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--gate", WEB_CUT, "--key", str(keys["alice"]))
    assert code == 1 and f"{WEB_CUT}: not waiting yet" in out, out

    # the same, hand-signed into approvals.yaml: BusinessValidation passes, Cutover still stops
    from mgc_iac.approvals import approval_message
    from mgc_iac.approvals.sshsig import APPROVAL_NAMESPACE, sign
    from mgc_iac.operations._workspace import Workspace
    from mgc_iac.plan.planfile import plan_digest

    with Workspace.open(stack_dir) as ws:
        digest = plan_digest(ws.plan().plan)
        trust = ws.trust
        gates = [WEB_BV, WEB_CUT]
        signature = sign(approval_message("demo", digest, gates, trust.environment), keys["alice"],
                         APPROVAL_NAMESPACE)
    (stack_dir / "approvals.yaml").write_text(yaml.safe_dump({"approvals": [
        {"gates": gates, "by": "alice@example.com", "plan_digest": digest, "signature": signature}]}))
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    assert f"{WEB_CUT}: needs" in out and "approvals given before it waited do not count" in out
    assert states(stack_dir)["web-01"] == ("Cutover", "waiting")


def test_allow_advance_lets_one_approval_cover_the_reviewed_plan(stack_dir: Path, lab_dir: Path,
                                                                 keys: dict[str, Path]) -> None:
    signed_stack(stack_dir, keys, allow_advance=True)
    assert run("apply", str(stack_dir), "--auto-approve")[0] == 3
    code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--gate", WEB_CUT, "--key", str(keys["alice"]))
    assert code == 0, out
    assert run("apply", str(stack_dir), "--auto-approve")[0] == 3  # db-01 still waits at BusinessValidation
    assert states(stack_dir)["web-01"] == (None, "done")  # web-01 went through both gates in one apply


def test_approvals_copied_to_another_environment_approve_nothing(stack_dir: Path, lab_dir: Path, tmp_path: Path,
                                                                  keys: dict[str, Path],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    signed_stack(stack_dir, keys)
    assert run("apply", str(stack_dir), "--auto-approve")[0] == 3
    assert run("approve", str(stack_dir), "--all-waiting", "--key", str(keys["alice"]), "--to-file")[0] == 0
    approvals = (stack_dir / "approvals.yaml").read_text()

    # a brand-new state backend and lab: the same spec and history give the same plan digest...
    monkeypatch.setenv("MGC_IAC_STATE", str(tmp_path / "other" / "state.db"))
    monkeypatch.setenv("MGC_IAC_LAB_DIR", str(tmp_path / "other" / "lab"))
    (stack_dir / "approvals.yaml").unlink()
    code, out = run("apply", str(stack_dir), "--auto-approve")  # both labs: stopped by isolated_lab
    assert code == 3, out
    (stack_dir / "approvals.yaml").write_text(approvals)
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out  # ...but the approval was signed for the other backend: it does not verify here
    assert "does not verify" in out
    assert states(stack_dir)["web-01"] == ("BusinessValidation", "waiting")


def test_a_huaweicloud_stack_refuses_unsigned_approvals(make_stack, base, monkeypatch: pytest.MonkeyPatch) -> None:
    from mgc_iac.stack.models import ApprovalPolicy

    assert ApprovalPolicy().signatures_required("huaweicloud")
    assert not ApprovalPolicy().signatures_required("lab")
    assert ApprovalPolicy(allowed_signers="allowed_signers").signatures_required("lab")
    base["cloud"] = {"provider": "huaweicloud", "region": "cn-north-4"}
    for source in base["sources"]:  # no `ssh:` here: a huaweicloud source mgc-iac cannot log in to is preinstalled
        source["agent"] = "preinstalled"
    stack = make_stack(base)
    monkeypatch.setenv("HUAWEICLOUD_SDK_PROJECT_ID", "0123456789abcdef0123456789abcdef")
    code, out = run("approve", str(stack), "--gate", "shop-wave-1/web-01/BusinessValidation", "--by", "bob")
    assert code == 1 and "requires signed approvals" in out and "cloud.provider: huaweicloud" in out, out


def test_the_plan_signer_is_the_author_and_cannot_approve(stack_dir: Path, lab_dir: Path, tmp_path: Path,
                                                          keys: dict[str, Path]) -> None:
    signed_stack(stack_dir, keys, allow_plan_author=False)
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    assert "the plan is not signed" in out  # without a signed plan the policy cannot exclude the author
    plan_file = tmp_path / "plan.json"
    code, out = run("plan", str(stack_dir), "--out", str(plan_file), "--sign-key", str(keys["carol"]))
    assert code == 0, out
    assert json.loads(plan_file.read_text())["provenance"]["author"] == "carol@example.com"
    # plan writes no state: the author travels in the plan file (approve --plan, apply FILE record it)
    code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--key", str(keys["carol"]), "--plan", str(plan_file))
    assert code == 1 and "carol@example.com made this plan" in out, out
    code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--key", str(keys["bob"]))
    assert code == 0, out
    code, out = run("apply", str(plan_file), "--stack-dir", str(stack_dir))
    assert code == 3, out
    assert states(stack_dir)["web-01"] == ("Cutover", "waiting")


def test_state_unlock_refuses_a_live_apply_without_its_lock_id(stack_dir: Path, tmp_path: Path) -> None:
    from mgc_iac.state import default_state_path, open_store

    ready = tmp_path / "locked"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time, pathlib\n"
        "from mgc_iac.state import open_store\n"
        "store = open_store(pathlib.Path(sys.argv[1]))\n"
        "with store.lock('demo', 'apply') as info:\n"
        "    pathlib.Path(sys.argv[2]).write_text(info.lock_id)\n"
        "    time.sleep(600)\n"), str(default_state_path(stack_dir)), str(ready)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        deadline = time.monotonic() + 30
        while not (ready.exists() and ready.read_text()):
            assert holder.poll() is None and time.monotonic() < deadline, "the lock holder did not start"
            time.sleep(0.05)
        lock_id = ready.read_text()
        code, out = run("state", "unlock", str(stack_dir))
        assert code == 1 and "is running" in out and f"--force {lock_id}" in out, out
        code, out = run("status", str(stack_dir))
        assert f"lock id {lock_id}" in out
        code, out = run("state", "unlock", str(stack_dir), "--force", "not-" + lock_id)
        assert code == 1 and f"has id {lock_id}" in out, out
        store = open_store(default_state_path(stack_dir))
        try:
            assert store.lock_info("demo").lock_id == lock_id  # still held
        finally:
            store.close()
        code, out = run("state", "unlock", str(stack_dir), "--force", lock_id)
        assert code == 0 and f"removed the lock {lock_id}" in out, out
    finally:
        holder.kill()
        holder.wait()


def test_a_recent_lock_of_another_host_needs_force() -> None:
    from datetime import UTC, datetime, timedelta

    from mgc_iac.state.locks import why_held
    from mgc_iac.state.store import LockInfo

    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    recent = LockInfo("demo", 1, "ci-runner-7", "2026-12-01T11:00:00Z", "apply", lock_id="abc")
    assert "on host ci-runner-7" in why_held(recent, now=now)
    assert why_held(recent, now=now + timedelta(days=2)) is None


def test_a_reviewer_signs_in_a_pr_without_the_state_backend(stack_dir: Path, lab_dir: Path, keys: dict[str, Path],
                                                            monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    signed_stack(stack_dir, keys)
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    line = next(t for t in out.splitlines() if t.startswith("In a PR, without the state backend:"))
    digest = re.search(r"--digest (\S+)", line).group(1)
    env = re.search(r"--environment (\S+)", line).group(1)
    cloud = re.search(r"--cloud (\S+);", line).group(1)
    assert digest == waiting_digest(out)

    real_state = os.environ["MGC_IAC_STATE"]
    monkeypatch.setenv("MGC_IAC_STATE", str(tmp_path / "reviewer-has-no-state" / "state.db"))
    code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--gate", WEB_CUT, "--key", str(keys["bob"]),
                    "--to-file", "--digest", digest, "--environment", env, "--cloud", cloud)
    assert code == 0 and "bob@example.com signed 2 gate(s)" in out, out
    assert not (tmp_path / "reviewer-has-no-state").exists()  # no state was opened or made
    code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--digest", digest, "--environment", env)
    assert code != 0 and "needs --gate ..., --digest, --environment, --key and --to-file" in out

    monkeypatch.setenv("MGC_IAC_STATE", real_state)  # CI, after the merge
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    # BusinessValidation waited, so it passed; Cutover was signed before it waited, so it does not count
    assert states(stack_dir)["web-01"] == ("Cutover", "waiting")
    assert "approvals given before it waited do not count" in out
