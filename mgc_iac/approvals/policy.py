"""The approval policy that counts comes from the trusted side, never from the change under review (issue 19).

`required_approvers`, `require_signatures`, `allow_plan_author`, `allow_advance` and the allowed_signers lines
that count are the ones recorded at the stack's last apply (state: `applied`, written only by apply, which runs
on the protected branch with the state's write credential), narrowed, where given, by the stack as of a named
trusted git ref (MGC_IAC_TRUSTED_REF=origin/main; a ref never widens the record: after a merge it is the change).
Before the first apply, the ref's (or else the spec's own) policy is the first one recorded.

A spec whose policy differs from the one in force is a **policy change**: the plan and the PR comment show it.
A change that only narrows it (more approvers, a signer removed, signatures required) is recorded by the next
apply. A change that widens it (fewer approvers, signatures no longer required, the plan's author allowed,
approving in advance allowed, a signer added or renamed) waits at the stack-level gate POLICY_GATE, approved
under the policy in force; the apply that finds it approved records it, and it counts from then on.
"""

from __future__ import annotations

import base64
import hashlib
import re
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mgc_iac.errors import ConfigError
from mgc_iac.plan import POLICY_GATE
from mgc_iac.stack import ApprovalPolicy

FIELDS = ("required_approvers", "require_signatures", "allow_plan_author", "allow_advance")
_KEY_TYPE = re.compile(r"^(ssh-|ecdsa-|sk-)")


@dataclass(frozen=True)
class Policy:
    """An approval policy as it is compared and recorded: the rules and the allowed_signers lines themselves
    (their content, not a path a change could point elsewhere)."""

    required_approvers: int = 1
    require_signatures: bool = False
    allow_plan_author: bool = True
    allow_advance: bool = False
    signers: tuple[str, ...] = ()
    source: str = "the spec"  # where it comes from, for messages (not compared, not recorded)

    def record(self) -> dict[str, Any]:
        return {**{f: getattr(self, f) for f in FIELDS}, "signers": list(self.signers)}

    @classmethod
    def from_record(cls, data: dict[str, Any], source: str) -> Policy:
        return cls(int(data.get("required_approvers", 1)), bool(data.get("require_signatures", False)),
                   bool(data.get("allow_plan_author", True)), bool(data.get("allow_advance", False)),
                   tuple(str(s) for s in data.get("signers") or ()), source)

    def rules(self) -> ApprovalPolicy:
        """The policy as the requirement checks read it (the signers travel in the Trust, as a file)."""
        return ApprovalPolicy(required_approvers=self.required_approvers, allow_plan_author=self.allow_plan_author,
                              require_signatures=self.require_signatures, allow_advance=self.allow_advance,
                              allowed_signers="(recorded)" if self.signers else None)

    def same_as(self, other: Policy) -> bool:
        return self.record() == other.record()


@dataclass(frozen=True)
class PolicyChange:
    """What the spec's policy changes in the policy in force: one line per change, and whether it widens."""

    current: Policy
    proposed: Policy
    lines: tuple[str, ...]
    widens: bool

    def to_dict(self) -> dict[str, Any]:
        return {"current": self.current.record(), "proposed": self.proposed.record(), "changes": list(self.lines),
                "widens": self.widens, "gate": POLICY_GATE if self.widens else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PolicyChange:
        return cls(Policy.from_record(data["current"], "recorded"), Policy.from_record(data["proposed"], "the spec"),
                   tuple(data.get("changes") or ()), bool(data.get("widens")))


def signer_lines(text: str) -> tuple[str, ...]:
    """The allowed_signers lines that name a key (comments and blanks dropped, whitespace normalized), sorted."""
    lines = {" ".join(line.split()) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")}
    return tuple(sorted(lines))


def describe_signer(line: str) -> str:
    """`alice@example.com (ssh-ed25519 SHA256:...)`: who, and which key, as ssh-keygen -l shows it."""
    parts = line.split()
    for i, part in enumerate(parts):
        if _KEY_TYPE.match(part) and i + 1 < len(parts):
            try:
                blob = base64.b64decode(parts[i + 1], validate=True)
                fingerprint = "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
            except ValueError:
                fingerprint = "(a key that does not decode)"
            return f"{parts[0]} ({part} {fingerprint})"
    return f"{parts[0] if parts else line} (no key)"


def policy_of(spec: dict[str, Any]) -> ApprovalPolicy:
    return ApprovalPolicy.model_validate((spec or {}).get("approvals") or {})


def allowed_signers_path(spec: dict[str, Any], stack_dir: Path | None) -> Path | None:
    """The stack's allowed_signers file (approvals.allowed_signers, relative to the stack dir), checked to exist."""
    configured = policy_of(spec).allowed_signers
    if configured is None:
        return None
    path = Path(configured).expanduser()
    if not path.is_absolute():
        path = (stack_dir or Path.cwd()) / path
    if not path.is_file():
        raise ConfigError(f"approvals.allowed_signers: {path} does not exist; create it with one line per approver "
                          "(`PRINCIPAL ssh-ed25519 AAAA...`, see README: Signed approvals) and commit it")
    return path


def spec_policy(spec: dict[str, Any], stack_dir: Path | None, source: str = "the spec") -> Policy:
    """The policy a spec asks for, with its allowed_signers file's lines (read relative to the stack dir)."""
    policy = ApprovalPolicy.model_validate((spec or {}).get("approvals") or {})
    provider = (spec.get("cloud") or {}).get("provider", "lab")
    path = allowed_signers_path(spec, stack_dir)
    lines = signer_lines(path.read_text(encoding="utf-8")) if path is not None else ()
    return Policy(policy.required_approvers, policy.signatures_required(provider), policy.allow_plan_author,
                  policy.allow_advance, lines, source)


def compare(current: Policy, proposed: Policy) -> PolicyChange | None:
    """None when the spec asks for the policy in force; else what changes and whether it widens."""
    if current.same_as(proposed):
        return None
    lines: list[str] = []
    widens = False
    if proposed.required_approvers != current.required_approvers:
        fewer = proposed.required_approvers < current.required_approvers
        widens |= fewer
        lines.append(f"required_approvers: {current.required_approvers} -> {proposed.required_approvers}"
                     + (" (fewer approvals: widens)" if fewer else ""))
    for name, wide_when in (("require_signatures", False), ("allow_plan_author", True), ("allow_advance", True)):
        old, new = getattr(current, name), getattr(proposed, name)
        if old != new:
            widens |= new is wide_when
            note = " (widens)" if new is wide_when else ""
            lines.append(f"{name}: {str(old).lower()} -> {str(new).lower()}{note}")
    added = sorted(set(proposed.signers) - set(current.signers))
    removed = sorted(set(current.signers) - set(proposed.signers))
    widens |= bool(added)
    lines += [f"signer added: {describe_signer(s)} (widens)" for s in added]
    lines += [f"signer removed: {describe_signer(s)}" for s in removed]
    return PolicyChange(current, proposed, tuple(lines), widens)


def trusted_base(recorded: dict[str, Any] | None, stack_dir: Path | None,
                 trusted_ref: str | None = None) -> Policy | None:
    """The policy from the trusted side: the one recorded at the last apply, narrowed by the stack at
    `trusted_ref` when given (the ref alone before the first apply); None when neither is known.

    A ref never widens what an apply recorded: in the apply job after a merge, `origin/main` IS the change, and
    a widening merged there must still pass the PolicyChange gate under the recorded policy."""
    last = Policy.from_record(recorded, "recorded at the last apply") if recorded is not None else None
    if not trusted_ref:
        return last
    at_ref = policy_at_ref(trusted_ref, stack_dir)
    if last is None:
        return at_ref
    return replace(strictest(last, at_ref), source=f"recorded at the last apply and the stack at {trusted_ref}")


def strictest(a: Policy, b: Policy) -> Policy:
    """What both allow: the most approvers, signatures if either asks, the author or advance approvals only if
    both allow them, the signers both list. A spec can narrow the trusted policy at once, never widen it."""
    return Policy(max(a.required_approvers, b.required_approvers), a.require_signatures or b.require_signatures,
                  a.allow_plan_author and b.allow_plan_author, a.allow_advance and b.allow_advance,
                  tuple(sorted(set(a.signers) & set(b.signers))), a.source)


def in_force(recorded: dict[str, Any] | None, spec: dict[str, Any], stack_dir: Path | None,
             trusted_ref: str | None = None) -> Policy:
    """The policy that counts: the trusted one (`trusted_base`) narrowed by the spec's; before the first apply
    the spec's own (the first apply records it)."""
    proposed = spec_policy(spec, stack_dir)
    base = trusted_base(recorded, stack_dir, trusted_ref)
    if base is None:
        return Policy(**{**proposed.__dict__, "source": "the spec (no apply recorded a policy yet: the first apply "
                                                         "records it)"})
    return strictest(base, proposed)


def policy_at_ref(ref: str, stack_dir: Path | None) -> Policy:
    """The policy of the stack as committed at `ref` (e.g. origin/main): its files are read from git, not from
    the working tree a change under review controls."""
    from mgc_iac.stack import load_stack

    directory = (stack_dir or Path.cwd()).resolve()
    with tempfile.TemporaryDirectory(prefix="mgc-iac-ref-") as tmp:
        try:
            archive = subprocess.run(["git", "-C", str(directory), "archive", "--format=tar", ref, "--", "."],
                                     capture_output=True, timeout=60)
        except (OSError, subprocess.SubprocessError) as exc:
            raise ConfigError(f"--trusted-ref {ref}: git could not read the stack at that ref ({exc})") from None
        if archive.returncode != 0:
            why = archive.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no detail"]
            raise ConfigError(f"--trusted-ref {ref}: git cannot read {directory} at that ref ({why[0]}); fetch it "
                              "first (git fetch origin main) or name another ref")
        import io
        import tarfile

        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4+: refuse links and paths leaving the directory
                tar.extractall(tmp, filter="data")
            else:  # pragma: no cover - older 3.11 patch releases
                tar.extractall(tmp)
        loaded = load_stack(Path(tmp))
        return spec_policy(loaded.canonical, Path(tmp), f"the stack at {ref}")


_SIGNERS_DIR: tempfile.TemporaryDirectory[str] | None = None


def signers_file(lines: tuple[str, ...]) -> Path | None:
    """An allowed_signers file holding `lines` (what ssh-keygen reads), kept for this process; None if none."""
    global _SIGNERS_DIR
    if not lines:
        return None
    if _SIGNERS_DIR is None:
        _SIGNERS_DIR = tempfile.TemporaryDirectory(prefix="mgc-iac-signers-")
    text = "\n".join(lines) + "\n"
    path = Path(_SIGNERS_DIR.name) / (hashlib.sha256(text.encode()).hexdigest()[:16] + ".allowed_signers")
    if not path.exists():
        path.write_text(text, encoding="utf-8")
    return path


def settle(plan_policy_change: dict[str, Any] | None, current: Policy, proposed: Policy,
           policy_gate_passed: bool) -> tuple[Policy, bool]:
    """(the policy this apply records, whether a widening change still waits at POLICY_GATE).

    No change: the one in force. A change that only narrows: the spec's. A widening change: the spec's once its
    gate passed under the policy in force; until then the policy in force (the spec's narrowing parts with it)."""
    if plan_policy_change is None:
        return current, False
    if not plan_policy_change.get("widens") or policy_gate_passed:
        return proposed, False
    return current, True
