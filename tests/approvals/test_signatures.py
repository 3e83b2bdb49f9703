"""SSHSIG through ssh-keygen -Y: what an approval signs, who verifies as whom, and what does not verify (an edited
gate or digest, another namespace, another state backend or cloud account, a key not listed)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from mgc_iac.approvals import Approval, Environment, Trust, approval_message
from mgc_iac.approvals.sshsig import APPROVAL_NAMESPACE, PLAN_NAMESPACE, sign, signer
from mgc_iac.errors import ApprovalError

GATE = "shop-wave-1/web-01/Cutover"
DIGEST = "sha256:" + "a" * 64
ENV = Environment("0123456789abcdef0123456789abcdef", "huaweicloud/cn-north-4/project-1")


def _key(tmp_path: Path, name: str) -> Path:
    key = tmp_path / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


def _pub(key: Path) -> Path:
    return Path(str(key) + ".pub")


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    found = {n: _key(tmp_path, n) for n in ("alice", "mallory")}
    (tmp_path / "allowed_signers").write_text(
        f"alice@example.com {' '.join(_pub(found['alice']).read_text().split()[:2])}\n")
    return found


def test_the_signer_is_the_principal_of_allowed_signers(keys: dict[str, Path], tmp_path: Path) -> None:
    message = approval_message("demo", DIGEST, [GATE], ENV)
    assert b"environment: 0123456789abcdef" in message and b"cloud: huaweicloud/cn-north-4/project-1" in message
    signature = sign(message, keys["alice"], APPROVAL_NAMESPACE)
    assert signature.startswith("-----BEGIN SSH SIGNATURE-----")
    assert signer(message, signature, tmp_path / "allowed_signers", APPROVAL_NAMESPACE) == "alice@example.com"
    with pytest.raises(ApprovalError, match="does not verify"):
        signer(message.replace(b"Cutover", b"BusinessValidation"), signature, tmp_path / "allowed_signers",
               APPROVAL_NAMESPACE)
    with pytest.raises(ApprovalError):  # a plan signature is not an approval
        signer(message, sign(message, keys["alice"], PLAN_NAMESPACE), tmp_path / "allowed_signers",
               APPROVAL_NAMESPACE)
    with pytest.raises(ApprovalError, match="not in"):
        signer(message, sign(message, keys["mallory"], APPROVAL_NAMESPACE), tmp_path / "allowed_signers",
               APPROVAL_NAMESPACE)


def test_an_approval_for_another_backend_or_account_does_not_count(keys: dict[str, Path], tmp_path: Path) -> None:
    signature = sign(approval_message("demo", DIGEST, [GATE], ENV), keys["alice"], APPROVAL_NAMESPACE)
    approval = Approval(GATE, "whoever", DIGEST, "cli", "", signature, (GATE,))
    here = Trust("demo", ENV, tmp_path / "allowed_signers", True)
    [counted], [] = here.check([approval])
    assert counted.approver == "alice@example.com"  # the principal, whatever the record says
    for elsewhere in (Environment("f" * 32, ENV.cloud), Environment(ENV.state_id, "huaweicloud/cn-north-4/other")):
        counted_there, rejected = Trust("demo", elsewhere, tmp_path / "allowed_signers", True).check([approval])
        assert counted_there == [] and rejected[0].code == "bad-signature"
    [], [unsigned] = here.check([Approval(GATE, "Totally Real CTO", DIGEST)])
    assert unsigned.code == "unsigned"


def test_a_wildcard_principal_is_refused(keys: dict[str, Path], tmp_path: Path) -> None:
    allowed = tmp_path / "allowed_signers"
    allowed.write_text(f"*@example.com {' '.join(_pub(keys['alice']).read_text().split()[:2])}\n")
    message = approval_message("demo", DIGEST, [GATE], ENV)
    signature = sign(message, keys["alice"], APPROVAL_NAMESPACE)
    [], [refusal] = Trust("demo", ENV, allowed, True).check([Approval(GATE, "x", DIGEST, "cli", "", signature)])
    assert "is a pattern" in refusal.reason


def test_a_key_held_by_ssh_agent_signs_through_its_public_key_file(keys: dict[str, Path], tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    sock = tmp_path / "agent.sock"
    agent = subprocess.run(["ssh-agent", "-a", str(sock), "-s"], capture_output=True, text=True, check=True)
    pid = int(agent.stdout.split("SSH_AGENT_PID=")[1].split(";")[0])
    monkeypatch.setenv("SSH_AUTH_SOCK", str(sock))
    try:
        subprocess.run(["ssh-add", "-q", str(keys["alice"])], check=True, capture_output=True)
        keys["alice"].unlink()  # only the agent holds the private key now
        message = approval_message("demo", DIGEST, [GATE], ENV)
        signature = sign(message, _pub(keys["alice"]), APPROVAL_NAMESPACE)
        assert signer(message, signature, tmp_path / "allowed_signers", APPROVAL_NAMESPACE) == "alice@example.com"
    finally:
        os.kill(pid, signal.SIGTERM)  # the agent this test started
