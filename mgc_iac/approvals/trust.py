"""What an approval must prove before it counts: a valid SSH signature, by a principal of the stack's
allowed_signers file, over the gates, the plan digest and the environment (state backend id + cloud account).

Nothing an approval claims is taken from it: the approver is the principal the signature verifies as, the
environment is this backend's and this cloud's, so an approvals file copied to another backend or account
approves nothing there. Unsigned approvals count only for stacks whose policy does not require signatures
(the lab demo); their names are compared after Unicode normalization, without invisible characters.
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from mgc_iac.approvals.requirements import Approval, Refusal, normalized_name
from mgc_iac.approvals.sshsig import APPROVAL_NAMESPACE, PLAN_NAMESPACE, signer
from mgc_iac.errors import ApprovalError, ConfigError
from mgc_iac.stack import ApprovalPolicy


@dataclass(frozen=True)
class Environment:
    """Where approvals apply: one state backend (its random id) and one cloud account/project."""

    state_id: str
    cloud: str  # provider/region/project_id

    def lines(self) -> list[str]:
        return [f"environment: {self.state_id}", f"cloud: {self.cloud}"]


def approval_message(stack: str, plan_digest: str, gates: Iterable[str], env: Environment) -> bytes:
    """The exact bytes an approval signs: one line per field, the gates in the order signed."""
    lines = ["mgc-iac approval v1", f"stack: {stack}", f"plan-digest: {plan_digest}", *env.lines(),
             *(f"gate: {g}" for g in gates)]
    return ("\n".join(lines) + "\n").encode()


def plan_message(stack: str, spec_digest: str, env: Environment) -> bytes:
    """The bytes `plan --sign-key` signs: the author vouches for this spec of this stack in this environment."""
    lines = ["mgc-iac plan v1", f"stack: {stack}", f"spec-digest: {spec_digest}", *env.lines()]
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True)
class Trust:
    """How one stack's approvals are checked in one environment."""

    stack: str
    environment: Environment
    allowed_signers: Path | None
    require_signatures: bool
    # the rules in force (approvals/policy.py: recorded at the last apply, never the change under review);
    # None: the spec's own (callers that check nothing but signatures)
    policy: ApprovalPolicy | None = None
    signers_label: str = ""  # what messages call the signers file (it may be a copy of the recorded lines)

    def principal(self, message: bytes, signature: str, namespace: str = APPROVAL_NAMESPACE) -> str:
        """The principal that signed `message`; ApprovalError when it does not verify or cannot be checked."""
        if self.allowed_signers is None:
            raise ApprovalError("the approval policy in force lists no allowed signers (approvals.allowed_signers), "
                                "so no signature can be checked")
        try:
            name = signer(message, signature, self.allowed_signers, namespace)
        except ApprovalError as exc:
            if not self.signers_label:
                raise
            raise ApprovalError(str(exc).replace(str(self.allowed_signers), self.signers_label)) from None
        if any(ch in name for ch in "*?!"):
            raise ConfigError(f"{self.allowed_signers}: principal {name!r} is a pattern; name each approver on "
                              "its own line (a pattern makes several keys one person, or one key anyone)")
        return name

    def check(self, approvals: Iterable[Approval]) -> tuple[list[Approval], list[Refusal]]:
        """The approvals that count (approver = verified principal or normalized name) and, for the others,
        why not (as refusals naming the gate)."""
        approvals = list(approvals)
        counted: list[Approval] = []
        rejected: list[Refusal] = []
        verified = self._verify_all({(a.signature, a.plan_digest, a.signed_gates or (a.gate,))
                                     for a in approvals if a.signature})
        for a in approvals:
            if not a.signature:
                if self.require_signatures:
                    rejected.append(Refusal(a.gate, "unsigned", f"the approval by {a.approver!r} ({a.via}) is not "
                                            "signed and this stack requires signed approvals (sign with "
                                            "`mgc-iac approve --key`)"))
                else:
                    counted.append(replace(a, approver=normalized_name(a.approver)))
                continue
            gates = a.signed_gates or (a.gate,)
            outcome = verified[(a.signature, a.plan_digest, gates)]
            if isinstance(outcome, Exception):
                rejected.append(Refusal(a.gate, "bad-signature", f"the approval by {a.approver!r} ({a.via}) does "
                                        f"not count: {outcome} (an approval made for another plan, state backend "
                                        "or cloud account does not verify here)"))
            elif a.gate not in gates:
                rejected.append(Refusal(a.gate, "bad-signature", f"the signature by {outcome} does not cover {a.gate}"))
            elif a.via == "git" and a.approver != outcome:
                rejected.append(Refusal(a.gate, "bad-signature", f"approvals.yaml says `by: {a.approver}` but the "
                                        f"signature is {outcome}'s; write `by: {outcome}`"))
            else:
                counted.append(replace(a, approver=outcome))
        return counted, rejected

    def _verify_all(self, keys: set[tuple[str, str, tuple[str, ...]]]) -> dict[tuple[str, str, tuple[str, ...]],
                                                                                str | Exception]:
        """Each distinct (signature, digest, gates) verified once; ssh-keygen runs in parallel (it is a process)."""

        def one(key: tuple[str, str, tuple[str, ...]]) -> str | Exception:
            signature, digest, gates = key
            try:
                return self.principal(approval_message(self.stack, digest, gates, self.environment), signature)
            except (ApprovalError, ConfigError) as exc:
                return exc

        ordered = sorted(keys)
        if len(ordered) <= 1:
            return {k: one(k) for k in ordered}
        with ThreadPoolExecutor(max_workers=min(8, len(ordered)), thread_name_prefix="mgc-iac-verify") as pool:
            return dict(zip(ordered, pool.map(one, ordered), strict=True))

    def authors(self, signatures: Iterable[tuple[str, str]], spec_digest: str) -> set[str]:
        """The principals whose plan signatures of `spec_digest` verify here (unverifiable ones are ignored)."""
        message = plan_message(self.stack, spec_digest, self.environment)
        found: set[str] = set()
        for _principal, signature in signatures:
            try:
                found.add(self.principal(message, signature, PLAN_NAMESPACE))
            except (ApprovalError, ConfigError):
                continue
        return found
