"""The pull request cannot approve itself (issue 19), tried as the attacks were: state rows forged to say gates
passed, a change widening the approval policy and approving itself under it, an unsigned approval under a policy
the change relaxed. Real CLI, real lab, real `ssh-keygen -Y` signatures."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mgc_iac.plan.model import POLICY_GATE

from .test_gates_trust import DB_BV, WEB_BV, WEB_CUT, keygen, run, signed_stack, states, waiting_digest


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    return {name: keygen(tmp_path, name) for name in ("alice", "bob", "carol")}


def _forge(stack_dir: Path, digest: str) -> None:
    """What a hostile stack.py did with the state DSN it read: BusinessValidation done, Cutover running, with a
    forged approver (written straight into the state)."""
    from mgc_iac.state import StepRecord, StepStatus, default_state_path, open_store

    store = open_store(default_state_path(stack_dir))
    try:
        with store.transaction("demo") as txn:
            txn.put_step(StepRecord("shop-wave-1", "web-01", "BusinessValidation", StepStatus.DONE, 1,
                                    {"approved_by": ["cto@example.com"], "plan_digest": digest}))
            txn.put_step(StepRecord("shop-wave-1", "web-01", "Cutover", StepStatus.RUNNING, 1,
                                    {"approved_by": ["cto@example.com"], "plan_digest": digest}))
    finally:
        store.close()


def _journal_phases(stack_dir: Path, gate: str) -> list[str]:
    from mgc_iac.state import default_state_path, open_store

    store = open_store(default_state_path(stack_dir), read_only=True)
    try:
        return [e.phase for e in store.journal("demo") if e.address == gate]
    finally:
        store.close()


def test_forged_state_rows_never_open_a_gate(stack_dir: Path, lab_dir: Path, keys: dict[str, Path]) -> None:
    signed_stack(stack_dir, keys)
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    _forge(stack_dir, waiting_digest(out))
    code, out = run("plan", str(stack_dir))
    assert "resumed without a new approval" in out  # what the rows claim (the plan reads them as they are)
    # the scheduled job: apply --auto-approve --max-wait; it used to resume the "running" Cutover
    code, out = run("apply", str(stack_dir), "--auto-approve", "--max-wait", "60s")
    assert code == 1, out
    assert "claims 2 gate(s) passed that no verified approval passes; nothing was run" in out
    assert WEB_BV in out and WEB_CUT in out and "cto@example.com" in out
    assert _journal_phases(stack_dir, WEB_CUT) == []  # Cutover was never started
    assert states(stack_dir)["db-01"] == ("BusinessValidation", "waiting")  # no other server moved either


def test_a_genuinely_approved_gate_passes_again_after_the_approval_file_is_gone(stack_dir: Path, lab_dir: Path,
                                                                               keys: dict[str, Path]) -> None:
    signed_stack(stack_dir, keys)
    assert run("apply", str(stack_dir), "--auto-approve")[0] == 3
    code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--key", str(keys["alice"]), "--to-file")
    assert code == 0, out
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3 and f"{WEB_CUT}: needs" in out, out
    (stack_dir / "approvals.yaml").unlink()  # cleaned up after merge: the pass is verified from its record
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3 and "no verified approval" not in out, out
    assert states(stack_dir)["web-01"] == ("Cutover", "waiting")


def test_a_change_that_adds_its_authors_keys_cannot_approve_itself(stack_dir: Path, lab_dir: Path,
                                                                   keys: dict[str, Path], tmp_path: Path) -> None:
    signed_stack(stack_dir, keys, required_approvers=2)
    code, out = run("apply", str(stack_dir), "--auto-approve")  # the policy in force is recorded here
    assert code == 3, out
    # the pull request: mallory adds two keys of hers to allowed_signers, and approves with both
    m1, m2 = keygen(tmp_path, "mallory1"), keygen(tmp_path, "mallory2")
    with (stack_dir / "allowed_signers").open("a") as signers:
        for name, key in (("m1@example.com", m1), ("m2@example.com", m2)):
            signers.write(f"{name} {' '.join(key.with_suffix('.pub').read_text().split()[:2])}\n")
    code, out = run("plan", str(stack_dir), "--format", "markdown")
    assert "Approval policy change" in out and "signer added: m1@example.com" in out and "widens" in out, out
    assert POLICY_GATE in out
    for key in (m1, m2):
        code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--key", str(key), "--to-file")
        assert code == 1 and "not in the allowed signers recorded at the last apply" in out, out
    digest = waiting_digest(run("apply", str(stack_dir), "--auto-approve")[1])
    # signing offline, as a reviewer without the state would: the entries are well formed, and do not count
    from mgc_iac.state import default_state_path, open_store

    store = open_store(default_state_path(stack_dir), read_only=True)
    environment = store.environment_id()
    store.close()
    for key in (m1, m2):
        code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--key", str(key), "--to-file",
                        "--digest", digest, "--environment", environment)
        assert code == 0, out
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    assert f"{WEB_BV}: needs 2 approval(s)" in out and "not in the allowed signers" in out
    assert f"{POLICY_GATE}: needs" in out and "signer added: m1@example.com" in out
    assert states(stack_dir)["web-01"] == ("BusinessValidation", "waiting")
    # approved under the policy in force (alice and bob), the change takes effect at the next apply
    for name in ("alice", "bob"):
        code, out = run("approve", str(stack_dir), "--gate", POLICY_GATE, "--key", str(keys[name]))
        assert code == 0, out
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3 and f"{POLICY_GATE}: needs" not in out, out
    code, out = run("plan", str(stack_dir))
    assert "Approval policy change" not in out and "m1@example.com" in out  # now in force


def test_a_change_that_relaxes_the_policy_does_not_relax_its_own_gates(stack_dir: Path, lab_dir: Path,
                                                                         keys: dict[str, Path]) -> None:
    signed_stack(stack_dir, keys, required_approvers=2)
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3, out
    data = yaml.safe_load((stack_dir / "stack.yaml").read_text())
    data["approvals"].update(require_signatures=False, required_approvers=1)
    (stack_dir / "stack.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    code, out = run("plan", str(stack_dir))
    assert "required_approvers: 2 -> 1" in out and "require_signatures: true -> false (widens)" in out, out
    code, out = run("approve", str(stack_dir), "--gate", WEB_BV, "--by", "mallory")
    assert code == 1 and "requires signed approvals" in out, out
    digest = waiting_digest(run("apply", str(stack_dir), "--auto-approve")[1])
    (stack_dir / "approvals.yaml").write_text(yaml.safe_dump({"approvals": [
        {"gates": [WEB_BV, DB_BV], "by": "mallory", "plan_digest": digest}]}))
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3 and "is not signed" in out and f"{WEB_BV}: needs 2 approval(s)" in out, out
    assert states(stack_dir)["web-01"] == ("BusinessValidation", "waiting")


def test_a_narrowing_change_counts_at_once(stack_dir: Path, lab_dir: Path, keys: dict[str, Path]) -> None:
    signed_stack(stack_dir, keys)
    assert run("apply", str(stack_dir), "--auto-approve")[0] == 3
    data = yaml.safe_load((stack_dir / "stack.yaml").read_text())
    data["approvals"]["required_approvers"] = 2
    (stack_dir / "stack.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    code, out = run("plan", str(stack_dir))
    assert "required_approvers: 1 -> 2" in out and "only narrows" in out, out
    assert run("approve", str(stack_dir), "--gate", WEB_BV, "--key", str(keys["alice"]))[0] == 0
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3 and f"{WEB_BV}: needs 2 approval(s)" in out, out


def _commit(directory: Path, message: str) -> None:
    import subprocess

    git = ["git", "-C", str(directory), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    if not (directory / ".git").exists():
        subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", message], check=True)


def test_a_trusted_ref_narrows_the_recorded_policy_and_never_widens_it(stack_dir: Path, lab_dir: Path,
                                                                       keys: dict[str, Path],
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """MGC_IAC_TRUSTED_REF=origin/main in the apply job after a merge: the ref IS the change. A widening merged
    there still waits at the PolicyChange gate; the policy recorded at the last apply is not replaced by it."""
    signed_stack(stack_dir, keys, required_approvers=2)
    assert run("apply", str(stack_dir), "--auto-approve")[0] == 3  # records 2 approvers, alice/bob/carol
    data = yaml.safe_load((stack_dir / "stack.yaml").read_text())
    data["approvals"]["required_approvers"] = 1
    (stack_dir / "stack.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    _commit(stack_dir, "merged: one approver is enough")
    monkeypatch.setenv("MGC_IAC_TRUSTED_REF", "HEAD")
    code, out = run("plan", str(stack_dir))
    assert "required_approvers: 2 -> 1 (fewer approvals: widens)" in out and POLICY_GATE in out, out
    assert run("approve", str(stack_dir), "--gate", WEB_BV, "--key", str(keys["alice"]))[0] == 0
    code, out = run("apply", str(stack_dir), "--auto-approve")
    assert code == 3 and f"{WEB_BV}: needs 2 approval(s)" in out and f"{POLICY_GATE}: needs" in out, out
    assert states(stack_dir)["web-01"] == ("BusinessValidation", "waiting")
