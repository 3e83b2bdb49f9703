"""OpenSSH signatures (SSHSIG) through `ssh-keygen -Y`, the format git uses for signed commits.

Signing uses a private key file, or a public key file whose private half is in ssh-agent (ssh-keygen asks the
agent, as `git commit -S` with gpg.format=ssh does). Verifying looks the key up in an allowed_signers file
(ssh-keygen(1), section ALLOWED SIGNERS): the signer's identity is the principal that file maps the key to.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from mgc_iac.errors import ApprovalError, ConfigError

APPROVAL_NAMESPACE = "mgc-iac-approval"
PLAN_NAMESPACE = "mgc-iac-plan"
_TIMEOUT = 60  # a passphrase prompt or an agent confirmation waits for a person


def _ssh_keygen() -> str:
    found = shutil.which("ssh-keygen")
    if found is None:
        raise ConfigError("ssh-keygen is not installed: install openssh-client (./dev.sh setup does)")
    return found


def sign(message: bytes, key_file: Path, namespace: str) -> str:
    """The armored signature of `message` by `key_file` (private key, or public key held by ssh-agent)."""
    key = Path(key_file).expanduser()
    if not key.is_file():
        raise ApprovalError(f"{key}: no such key file; pass the private key (or, with ssh-agent, its .pub file)")
    try:
        done = subprocess.run([_ssh_keygen(), "-q", "-Y", "sign", "-n", namespace, "-f", str(key)], input=message,
                              capture_output=True, timeout=_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ApprovalError(f"ssh-keygen did not sign with {key} within {_TIMEOUT} s") from None
    text = done.stdout.decode("ascii", "replace")
    if done.returncode != 0 or "BEGIN SSH SIGNATURE" not in text:
        raise ApprovalError(f"ssh-keygen could not sign with {key}: {_last_line(done.stderr)}")
    return text.strip() + "\n"


def signer(message: bytes, signature: str, allowed_signers: Path, namespace: str) -> str:
    """The principal whose key made `signature` over `message`, per `allowed_signers`.

    Raises ApprovalError when the key is not listed (for this namespace) or the signature does not verify.
    """
    if not Path(allowed_signers).is_file():
        raise ConfigError(f"{allowed_signers}: no such allowed_signers file (approvals.allowed_signers)")
    with tempfile.TemporaryDirectory(prefix="mgc-iac-sig-") as tmp:
        sig = Path(tmp) / "approval.sig"
        sig.write_text(signature, encoding="ascii", errors="replace")
        found = _run([_ssh_keygen(), "-Y", "find-principals", "-s", str(sig), "-f", str(allowed_signers),
                      "-n", namespace], b"")
        principals = [line.strip() for line in found.stdout.decode("utf-8", "replace").splitlines() if line.strip()]
        if found.returncode != 0 or not principals:
            raise ApprovalError(f"the signing key is not in {allowed_signers} (for namespace {namespace})")
        principal = principals[0]  # a key listed with several principals is one person: its first name
        checked = _run([_ssh_keygen(), "-Y", "verify", "-f", str(allowed_signers), "-I", principal, "-n", namespace,
                        "-s", str(sig)], message)
        if checked.returncode != 0:
            raise ApprovalError(f"the signature by {principal} does not verify for this content: "
                                f"{_last_line(checked.stderr or checked.stdout)}")
    return principal


def _run(args: list[str], data: bytes) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(args, input=data, capture_output=True, timeout=_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise ApprovalError("ssh-keygen did not answer in time") from None


def _last_line(raw: bytes) -> str:
    lines = [line for line in raw.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no detail"
