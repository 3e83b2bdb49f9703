"""`approve`: sign (OpenSSH, `ssh-keygen -Y sign`) and record an approval of gates that wait, for one plan digest
in one environment (state backend + cloud account); in state, or in the stack's approvals.yaml for a PR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mgc_iac.cli.apply_cmds import _approvals_file, _stack_dir_of, _store_for

EPILOG = """\b
Signed flow (what a reviewer does):
  1. once: ssh-keygen -t ed25519 -f ~/.ssh/id_ed25519   (or use the key you sign git commits with)
  2. once: add `you@example.com ssh-ed25519 AAAA...` to the stack's allowed_signers file
     (approvals.allowed_signers in the stack) through a reviewed PR
  3. mgc-iac status STACK                         shows the gates that wait
  4. mgc-iac approve STACK --gate W/S/STEP --key ~/.ssh/id_ed25519 --to-file
     signs the gate, the plan digest and the environment, and appends the entry to STACK/approvals.yaml
  5. git commit STACK/approvals.yaml; the PR shows `signature:`; after merge, CI runs apply
Without --to-file the signed approval is recorded in the state backend instead. A reviewer without access to
the state backend signs offline what apply printed: --to-file --digest D --environment E --cloud C (apply
then checks that the gates wait and the rest of the policy).
--by NAME (unsigned) only works on stacks whose policy does not require signatures (the lab demo).
"""


@click.command("approve", epilog=EPILOG)
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--gate", "gates", multiple=True, metavar="WORKFLOW/SERVER/STEP", help="A gate to approve (repeat).")
@click.option("--all-waiting", is_flag=True, help="Approve every gate an apply stopped at.")
@click.option("--key", "key_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Sign with this SSH private key, or with the ssh-agent key whose public key file this is. The "
                   "approver is the principal the stack's allowed_signers file maps the key to.")
@click.option("--by", "name", metavar="NAME",
              help="Unsigned approval by NAME: only for stacks that do not require signatures.")
@click.option("--to-file", is_flag=True,
              help="Append the signed entry to STACK/approvals.yaml (commit it in a PR) instead of the state.")
@click.option("--plan", "plan_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              help="Approve only if this plan file is exactly the plan of STACK now (default: plan it now).")
@click.option("--digest", "offline_digest", metavar="sha256:...",
              help="Offline, in a PR without access to the state backend: the plan digest apply printed (with "
                   "--environment, --key and --to-file; apply then checks that the gates wait).")
@click.option("--environment", metavar="ENV_ID", help="Offline: the environment id apply and status print.")
@click.option("--cloud", "cloud_account", metavar="PROVIDER/REGION/PROJECT",
              help="Offline: the cloud account apply printed (default: from the stack).")
@click.option("--override-checks", is_flag=True,
              help="Pass the gates although their automated checks (validation.checks) failed: signed with the "
                   "gates, recorded in the approval and shown in the report.")
@click.option("--check", "check_only", is_flag=True,
              help="Sign nothing: verify every entry of STACK/approvals.yaml as apply will (signer in the policy in "
                   "force, this environment, the current plan) and say what passes; exit 1 when an entry does not "
                   "verify or none counts. For an approvals pull request's job (read-only state access is enough).")
def approve_cmd(stack: Path, gates: tuple[str, ...], all_waiting: bool, key_file: Path | None, name: str | None,
                to_file: bool, plan_file: Path | None, offline_digest: str | None, environment: str | None,
                cloud_account: str | None, override_checks: bool, check_only: bool) -> None:
    """Approve gates of STACK that wait, for the current plan's digest, in this state backend and cloud account.

    An approval counts only for a gate the migration has reached (`not waiting yet` otherwise, unless the
    stack sets approvals.allow_advance: true), only for this plan digest (a changed plan discards it), and only
    in this environment: the state backend's id and the cloud account/project are part of what is signed.
    """
    from mgc_iac.approvals import OVERRIDE_CHECKS, check_approval, check_requirements, combine
    from mgc_iac.approvals.environment import policy_of, trust_for
    from mgc_iac.errors import ApprovalError
    from mgc_iac.operations.planning import check, plan_stack
    from mgc_iac.plan.model import POLICY_GATE
    from mgc_iac.plan.planfile import plan_digest
    from mgc_iac.state import ApprovalRecord, StepStatus
    from mgc_iac.state.holder import now

    directory = _stack_dir_of(stack)
    if offline_digest is not None or environment is not None:
        _approve_offline(stack, list(dict.fromkeys(gates)), key_file, to_file, offline_digest, environment,
                         cloud_account, override_checks)
        return
    store = _store_for(directory, check(stack).loaded.canonical, read_only=to_file or check_only)
    try:
        if plan_file is not None:
            from mgc_iac.cli._replan import replan_for_file

            planned, digest = replan_for_file(plan_file, directory, store)
        else:
            planned = plan_stack(stack, store=store)
            digest = plan_digest(planned.plan)
        plan = planned.plan
        trust = trust_for(plan.stack, plan.spec, directory, store)
        policy = trust.policy or policy_of(plan.spec)  # the policy in force, never the change under review's
        snapshot = store.snapshot(plan.stack)
        waiting = {g for g, r in snapshot.steps.items() if r.status is StepStatus.WAITING}
        if plan.policy_widens:  # a widening policy change waits in the plan itself
            waiting.add(POLICY_GATE)
        if check_only:
            return _check_file(plan, digest, trust, policy, waiting, store, directory)
        chosen = list(dict.fromkeys(gates))
        if all_waiting:
            chosen += [g for g in sorted(waiting) if g not in chosen]
        if not chosen:
            raise click.UsageError("name the gates with --gate WORKFLOW/SERVER/STEP, or pass --all-waiting "
                                   "(nothing waits now: `mgc-iac status` shows where each server stands)")
        signature = ""
        signed = chosen + ([OVERRIDE_CHECKS] if override_checks else [])  # the override is signed with the gates
        if key_file is not None:
            approver, signature = _sign(trust, digest, signed, key_file, name)
        elif name is not None:
            if trust.require_signatures:
                raise ApprovalError(f"this stack requires signed approvals ({_why_signed(plan.spec, trust)}): pass "
                                    "--key PRIVATE_KEY_FILE (see `mgc-iac approve --help`); --by is refused")
            approver = name
        else:
            raise click.UsageError("pass --key PRIVATE_KEY_FILE to sign the approval (or --by NAME on a stack that "
                                   "does not require signatures)")
        signatures = store.plan_signatures(plan.stack, plan.spec_digest)
        if plan_file is not None:  # a signed plan file names its author (plan never writes the state)
            from mgc_iac.plan.planfile import read_plan

            proposed = read_plan(plan_file)[0].provenance
            if proposed.signature:
                signatures.append((proposed.author or "", proposed.signature))
        authors = trust.authors(signatures, plan.spec_digest)
        refusals = check_approval(plan, digest, chosen, approver, policy, authors, waiting=waiting)
        if refusals:
            raise ApprovalError("not approved:\n  " + "\n  ".join(str(r) for r in refusals))
        if to_file:
            written = _append_to_file(directory, chosen, approver, digest, signature, override_checks)
        else:
            with store.transaction(plan.stack) as txn:
                for gate in chosen:
                    txn.add_approval(ApprovalRecord(gate, approver, digest, now(), "cli", signature, tuple(signed)))
        counted, rejected = trust.check(combine(_approvals_file(directory), store.approvals(plan.stack)))
        left = check_requirements(plan, digest, counted, policy, authors, gates=chosen, waiting=waiting,
                                  rejected=rejected)
    finally:
        store.close()
    how = "signed" if signature else "UNSIGNED (this stack's policy does not require signatures)"
    click.echo(f"{approver} approved {len(chosen)} gate(s) of plan {digest}, {how}"
               + (", OVERRIDING failed automated checks" if override_checks else "") + ":")
    for gate in chosen:
        click.echo(f"  {gate}")
    if not policy.allow_plan_author and not authors:
        from mgc_iac.approvals.requirements import author_unknown_note

        click.echo(f"  note: {author_unknown_note()}")
    for refusal in left:
        click.echo(f"  still waiting: {refusal}")
    if to_file:
        click.echo(f"Appended to {written}: commit it (the PR shows the signature), then apply after merge.")
    else:
        click.echo(f"Run `mgc-iac apply {stack}` to go on.")


def _check_file(plan: Any, digest: str, trust: Any, policy: Any, waiting: set[str], store: Any,
                directory: Path) -> None:
    """`approve --check`: the approvals file verified as apply will verify it (mgc_iac/approvals/review.py)."""
    from mgc_iac.approvals import combine
    from mgc_iac.approvals.review import review_file
    from mgc_iac.visible import visible_line

    file = _approvals_file(directory)
    if file is None:
        click.echo(f"{directory}: no approvals.yaml: nothing to check")
        return
    recorded, _ = trust.check(combine(None, store.approvals(plan.stack)))
    authors = trust.authors(store.plan_signatures(plan.stack, plan.spec_digest), plan.spec_digest)
    review = review_file(plan, digest, file, trust, policy, authors, waiting, recorded)
    for line in review.lines:
        click.echo(visible_line(line))
    click.echo(f"{review.counted} approval(s) of the current plan {digest} verify, {review.rejected} do not, "
               f"{review.stale} approve another plan.")
    if not review.ok:
        raise SystemExit(1)


def _sign(trust: Any, digest: str, gates: list[str], key_file: Path, name: str | None) -> tuple[str, str]:
    """(principal, armored signature) of `key_file` over the gates, the digest and the trust's environment."""
    from mgc_iac.approvals import approval_message
    from mgc_iac.approvals.sshsig import APPROVAL_NAMESPACE, sign
    from mgc_iac.errors import ApprovalError

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


def _approve_offline(stack: Path, gates: list[str], key_file: Path | None, to_file: bool, digest: str | None,
                     environment: str | None, cloud: str | None, override_checks: bool = False) -> None:
    """Sign for the digest and environment apply printed, without the state backend (a reviewer in a PR): the
    entry goes to approvals.yaml, and apply checks what approve cannot see here (the gates wait, the author)."""
    import re

    from mgc_iac.approvals import Environment, Trust
    from mgc_iac.approvals.environment import allowed_signers_path, cloud_account, policy_of
    from mgc_iac.operations.planning import check

    if not (digest and environment and key_file is not None and to_file and gates):
        raise click.UsageError("offline approval needs --gate ..., --digest, --environment, --key and --to-file "
                               "(the digest and the environment are what apply printed)")
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise click.UsageError(f"--digest {digest!r}: expected sha256: and 64 hex digits, as apply printed it")
    if not re.fullmatch(r"[0-9a-f]{32}", environment):
        raise click.UsageError(f"--environment {environment!r}: expected the 32 hex digits apply and status print")
    loaded = check(stack).loaded
    spec, directory = loaded.canonical, _stack_dir_of(stack)
    provider = (spec.get("cloud") or {}).get("provider", "lab")
    trust = Trust(loaded.stack.metadata.name, Environment(environment, cloud or cloud_account(spec, directory)),
                  allowed_signers_path(spec, directory), policy_of(spec).signatures_required(provider))
    from mgc_iac.approvals import OVERRIDE_CHECKS

    signed = gates + ([OVERRIDE_CHECKS] if override_checks else [])
    approver, signature = _sign(trust, digest, signed, key_file, None)
    written = _append_to_file(directory, gates, approver, digest, signature, override_checks)
    click.echo(f"{approver} signed {len(gates)} gate(s) of plan {digest} for environment {environment} "
               f"({trust.environment.cloud}), offline:")
    for gate in gates:
        click.echo(f"  {gate}")
    click.echo(f"Appended to {written}: commit it. Apply counts it only if these gates wait in that environment "
               "for that plan, and the policy's other rules hold.")


def _why_signed(spec: dict[str, Any], trust: Any) -> str:
    if trust.allowed_signers is not None:
        return "approvals.allowed_signers is set"
    if (spec.get("cloud") or {}).get("provider") == "huaweicloud":
        return "cloud.provider: huaweicloud; set approvals.allowed_signers"
    return "approvals.require_signatures: true"


class _Literal(str):
    """A multi-line string written as a YAML literal block (the armored signature stays readable in a diff)."""


def _append_to_file(directory: Path, gates: list[str], approver: str, digest: str, signature: str,
                    override_checks: bool = False) -> Path:
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
