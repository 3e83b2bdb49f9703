"""`approve`: sign (OpenSSH, `ssh-keygen -Y sign`) and record an approval of gates that wait, for one plan digest
in one environment (state backend + cloud account); in state, or in the stack's approvals.yaml for a PR.

An approval counts only for a gate the migration has reached (unless approvals.allow_advance), only for this
plan digest, and only in this environment. Offline (a reviewer without the state backend): sign for the digest
and environment apply printed; the entry goes to approvals.yaml and apply checks the rest. Nothing here prints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mgc_iac.approvals import Refusal, Trust
from mgc_iac.errors import ApprovalError, UsageError
from mgc_iac.operations._workspace import STATE_READ, STATE_WRITE, Workspace


@dataclass(frozen=True)
class ApproveRequest:
    gates: tuple[str, ...] = ()
    all_waiting: bool = False            # every gate an apply stopped at
    key_file: Path | None = None         # sign with this SSH key (or the .pub of an ssh-agent key)
    name: str | None = None              # unsigned approval by NAME (only where signatures are not required)
    to_file: bool = False                # append to STACK/approvals.yaml instead of the state
    plan_file: Path | None = None        # approve only if this plan file is exactly the plan of the stack now
    override_checks: bool = False        # pass the gates although their automated checks failed (signed with them)


@dataclass(frozen=True)
class OfflineApproval:
    """Sign what apply printed, without the state backend: to approvals.yaml only."""

    gates: tuple[str, ...]
    key_file: Path
    digest: str                          # sha256:... as apply printed it
    environment: str                     # the 32 hex digits apply and status print
    cloud: str | None = None             # provider/region/project (default: from the stack)
    override_checks: bool = False


@dataclass(frozen=True)
class Approved:
    approver: str
    gates: list[str]
    digest: str
    signed: bool
    written: Path | None = None          # the approvals.yaml appended to (else: recorded in state)
    still_waiting: list[Refusal] = field(default_factory=list)
    author_unknown: str | None = None    # a note: the plan's author is not known, the policy excludes authors
    environment: str | None = None       # offline: the environment id signed for
    cloud: str | None = None             # offline: the cloud account signed for


def open_for_approve(stack: Path, plan_file: Path | None = None, *, writes_state: bool = True) -> Workspace:
    """The workspace approve runs in: the state open for writing, or read-only when the approval goes to
    approvals.yaml or is only checked (`writes_state` False: a role that may only read the state is enough); with
    a plan file made with live facts, those gathered."""
    refreshed = False
    if plan_file is not None:
        from mgc_iac.operations._planfile import read_proposal

        refreshed = read_proposal(plan_file)[0].refreshed
    return Workspace.open(stack, state=STATE_WRITE if writes_state else STATE_READ, refresh_facts=refreshed)


@dataclass(frozen=True)
class _Current:
    """The plan approvals bind to now, and what checking them needs."""

    plan: Any
    digest: str
    trust: Trust
    policy: Any
    waiting: set[str]
    authors: set[str]


def _current(ws: Workspace, plan_file: Path | None) -> _Current:
    from mgc_iac.approvals import policy_of
    from mgc_iac.plan import POLICY_GATE, plan_digest
    from mgc_iac.state import StepStatus

    if plan_file is not None:
        from mgc_iac.operations._planfile import read_proposal, verify_plan_file

        planned, digest = verify_plan_file(ws, plan_file)
    else:
        planned = ws.plan()
        digest = plan_digest(planned.plan)
    plan = planned.plan
    trust = ws.trust
    policy = trust.policy or policy_of(plan.spec)  # the policy in force, never the change under review's
    snapshot = ws.store.snapshot(plan.stack)
    waiting = {g for g, r in snapshot.steps.items() if r.status is StepStatus.WAITING}
    if plan.policy_widens:  # a widening policy change waits in the plan itself
        waiting.add(POLICY_GATE)
    signatures = ws.store.plan_signatures(plan.stack, plan.spec_digest)
    if plan_file is not None:  # a signed plan file names its author (plan never writes the state)
        proposed = read_proposal(plan_file)[0].provenance
        if proposed.signature:
            signatures.append((proposed.author or "", proposed.signature))
    return _Current(plan, digest, trust, policy, waiting, trust.authors(signatures, plan.spec_digest))


def approve(ws: Workspace, request: ApproveRequest) -> Approved:
    """Approve gates of the stack that wait, for the current plan's digest, in this state backend and cloud account."""
    from mgc_iac.approvals import OVERRIDE_CHECKS, ApprovalsFile, check_approval, check_requirements, combine
    from mgc_iac.state import ApprovalRecord, now

    current = _current(ws, request.plan_file)
    plan, digest, trust, policy, waiting = current.plan, current.digest, current.trust, current.policy, current.waiting
    store = ws.store
    chosen = list(dict.fromkeys(request.gates))
    if request.all_waiting:
        chosen += [g for g in sorted(waiting) if g not in chosen]
    if not chosen:
        raise UsageError("name the gates with --gate WORKFLOW/SERVER/STEP, or pass --all-waiting "
                         "(nothing waits now: `mgc-iac status` shows where each server stands)")
    signature = ""
    signed = chosen + ([OVERRIDE_CHECKS] if request.override_checks else [])  # the override is signed with the gates
    if request.key_file is not None:
        approver, signature = _sign(trust, digest, signed, request.key_file, request.name)
    elif request.name is not None:
        if trust.require_signatures:
            raise ApprovalError(f"this stack requires signed approvals ({_why_signed(plan.spec, trust)}): pass "
                                "--key PRIVATE_KEY_FILE (see `mgc-iac approve --help`); --by is refused")
        approver = request.name
    else:
        raise UsageError("pass --key PRIVATE_KEY_FILE to sign the approval (or --by NAME on a stack that "
                         "does not require signatures)")
    authors = current.authors
    refusals = check_approval(plan, digest, chosen, approver, policy, authors, waiting=waiting)
    if refusals:
        raise ApprovalError("not approved:\n  " + "\n  ".join(str(r) for r in refusals))
    written = None
    if request.to_file:
        written = append_to_file(ws.directory, chosen, approver, digest, signature, request.override_checks)
        ws.__dict__.pop("approvals_file", None)  # read again: it holds the new entry
    else:
        with store.transaction(plan.stack) as txn:
            for gate in chosen:
                txn.add_approval(ApprovalRecord(gate, approver, digest, now(), "cli", signature, tuple(signed)))
    approvals_file: ApprovalsFile | None = ws.approvals_file
    counted, rejected = trust.check(combine(approvals_file, store.approvals(plan.stack)))
    left = check_requirements(plan, digest, counted, policy, authors, gates=chosen, waiting=waiting,
                              rejected=rejected)
    note = None
    if not policy.allow_plan_author and not authors:
        from mgc_iac.approvals import author_unknown_note

        note = author_unknown_note()
    return Approved(approver, chosen, digest, bool(signature), written, list(left), note)


@dataclass(frozen=True)
class FileChecked:
    """`approve --check`: approvals.yaml verified as apply will verify it. `review` is None without a file."""

    directory: Path
    digest: str
    review: Any = None   # mgc_iac.approvals.review.FileReview: lines, counted, rejected, stale, ok

    @property
    def ok(self) -> bool:
        return self.review is None or self.review.ok


def check_file(ws: Workspace, plan_file: Path | None = None) -> FileChecked:
    """Sign nothing: verify every entry of the stack's approvals.yaml as apply will (signer in the policy in force,
    this environment, the current plan) and say what passes (an approvals pull request's job)."""
    from mgc_iac.approvals import combine, review_file

    current = _current(ws, plan_file)
    file = ws.approvals_file
    if file is None:
        return FileChecked(ws.directory, current.digest)
    recorded, _ = current.trust.check(combine(None, ws.store.approvals(current.plan.stack)))
    return FileChecked(ws.directory, current.digest, review_file(current.plan, current.digest, file, current.trust,
                                                                 current.policy, current.authors, current.waiting,
                                                                 recorded))


def check_offline(request: OfflineApproval) -> None:
    """Refuse an offline approval whose digest or environment is not what apply prints."""
    if not request.gates:
        raise UsageError("offline approval needs --gate ..., --digest, --environment, --key and --to-file "
                         "(the digest and the environment are what apply printed)")
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", request.digest):
        raise UsageError(f"--digest {request.digest!r}: expected sha256: and 64 hex digits, as apply printed it")
    if not re.fullmatch(r"[0-9a-f]{32}", request.environment):
        raise UsageError(f"--environment {request.environment!r}: expected the 32 hex digits apply and status print")


def approve_offline(ws: Workspace, request: OfflineApproval) -> Approved:
    """Sign for the digest and environment apply printed, without the state backend (a reviewer in a PR): the
    entry goes to approvals.yaml, and apply checks what approve cannot see here (the gates wait, the author)."""
    from mgc_iac.approvals import OVERRIDE_CHECKS, Environment, allowed_signers_path, policy_of
    from mgc_iac.cloud import provider_of

    check_offline(request)
    spec, directory = ws.spec, ws.directory
    trust = Trust(ws.name, Environment(request.environment, request.cloud or ws.cloud_account),
                  allowed_signers_path(spec, directory), policy_of(spec).signatures_required(provider_of(spec)))
    gates = list(request.gates)
    signed = gates + ([OVERRIDE_CHECKS] if request.override_checks else [])
    approver, signature = _sign(trust, request.digest, signed, request.key_file, None)
    written = append_to_file(directory, gates, approver, request.digest, signature, request.override_checks)
    return Approved(approver, gates, request.digest, True, written, environment=request.environment,
                    cloud=trust.environment.cloud)


def _sign(trust: Any, digest: str, gates: list[str], key_file: Path, name: str | None) -> tuple[str, str]:
    """(principal, armored signature) of `key_file` over the gates, the digest and the trust's environment."""
    from mgc_iac.approvals import APPROVAL_NAMESPACE, approval_message, sign

    if trust.allowed_signers is None:
        raise ApprovalError("the stack names no allowed_signers file: add `approvals: {allowed_signers: "
                            "allowed_signers}` to the stack and list each approver's public key there")
    message = approval_message(trust.stack, digest, gates, trust.environment)
    signature = sign(message, key_file, APPROVAL_NAMESPACE)
    approver = trust.principal(message, signature)
    if name is not None and name != approver:
        raise ApprovalError(f"--by {name} but the key belongs to {approver} in {trust.allowed_signers}; "
                            "drop --by (the signer is the approver)")
    return approver, signature


def _why_signed(spec: dict[str, Any], trust: Any) -> str:
    if trust.allowed_signers is not None:
        return "approvals.allowed_signers is set"
    if (spec.get("cloud") or {}).get("provider") == "huaweicloud":
        return "cloud.provider: huaweicloud; set approvals.allowed_signers"
    return "approvals.require_signatures: true"


class _Literal(str):
    """A multi-line string written as a YAML literal block (the armored signature stays readable in a diff)."""


def append_to_file(directory: Path, gates: list[str], approver: str, digest: str, signature: str,
                   override_checks: bool = False) -> Path:
    """Append one approval entry to the stack's approvals.yaml (created when missing); its path."""
    import yaml

    from mgc_iac.approvals import APPROVALS_FILE, approvals_path, load_approvals_file

    path = approvals_path(directory) or directory / APPROVALS_FILE
    if path.exists():
        load_approvals_file(path)  # a broken file is reported (file, line, field) before anything is written
    data = (yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None) or {}
    entry: dict[str, Any] = {"gates": gates, "by": approver, "plan_digest": digest,
                             **({"override_checks": True} if override_checks else {})}
    if signature:
        entry["signature"] = _Literal(signature)
    data.setdefault("approvals", []).append(entry)

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(_Literal, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style="|"))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.dump(data, Dumper=Dumper, sort_keys=False), encoding="utf-8")
    tmp.replace(path)
    return path
