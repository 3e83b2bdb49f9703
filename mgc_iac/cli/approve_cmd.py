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
Without --to-file the signed approval is recorded in the state backend instead.
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
def approve_cmd(stack: Path, gates: tuple[str, ...], all_waiting: bool, key_file: Path | None, name: str | None,
                to_file: bool, plan_file: Path | None) -> None:
    """Approve gates of STACK that wait, for the current plan's digest, in this state backend and cloud account.

    An approval counts only for a gate the migration has reached (`not waiting yet` otherwise, unless the
    stack sets approvals.allow_advance: true), only for this plan digest (a changed plan discards it), and only
    in this environment: the state backend's id and the cloud account/project are part of what is signed.
    """
    from mgc_iac.approvals import approval_message, check_approval, check_requirements, combine
    from mgc_iac.approvals.environment import policy_of, trust_for
    from mgc_iac.approvals.sshsig import APPROVAL_NAMESPACE, sign
    from mgc_iac.errors import ApprovalError
    from mgc_iac.plan.planfile import plan_digest
    from mgc_iac.planning import check, plan_stack
    from mgc_iac.state import ApprovalRecord, StepStatus
    from mgc_iac.state.sqlite import now

    directory = _stack_dir_of(stack)
    store = _store_for(directory, check(stack).loaded.canonical)
    try:
        if plan_file is not None:
            from mgc_iac.cli._replan import replan_for_file

            planned, digest = replan_for_file(plan_file, directory, store)
        else:
            planned = plan_stack(stack, store=store)
            digest = plan_digest(planned.plan)
        plan = planned.plan
        policy = policy_of(plan.spec)
        trust = trust_for(plan.stack, plan.spec, directory, store)
        snapshot = store.snapshot(plan.stack)
        waiting = {g for g, r in snapshot.steps.items() if r.status is StepStatus.WAITING}
        chosen = list(dict.fromkeys(gates))
        if all_waiting:
            chosen += [g for g in sorted(waiting) if g not in chosen]
        if not chosen:
            raise click.UsageError("name the gates with --gate WORKFLOW/SERVER/STEP, or pass --all-waiting "
                                   "(nothing waits now: `mgc-iac status` shows where each server stands)")
        signature = ""
        if key_file is not None:
            if trust.allowed_signers is None:
                raise ApprovalError("the stack names no allowed_signers file: add `approvals: {allowed_signers: "
                                    "allowed_signers}` to the stack and list each approver's public key there")
            message = approval_message(plan.stack, digest, chosen, trust.environment)
            signature = sign(message, key_file, APPROVAL_NAMESPACE)
            approver = trust.principal(message, signature)
            if name is not None and name != approver:
                raise ApprovalError(f"--by {name} but the key belongs to {approver} in {trust.allowed_signers}; "
                                    "drop --by (the signer is the approver)")
        elif name is not None:
            if trust.require_signatures:
                raise ApprovalError(f"this stack requires signed approvals ({_why_signed(plan.spec, trust)}): pass "
                                    "--key PRIVATE_KEY_FILE (see `mgc-iac approve --help`); --by is refused")
            approver = name
        else:
            raise click.UsageError("pass --key PRIVATE_KEY_FILE to sign the approval (or --by NAME on a stack that "
                                   "does not require signatures)")
        authors = trust.authors(store.plan_signatures(plan.stack, plan.spec_digest), plan.spec_digest)
        refusals = check_approval(plan, digest, chosen, approver, policy, authors, waiting=waiting)
        if refusals:
            raise ApprovalError("not approved:\n  " + "\n  ".join(str(r) for r in refusals))
        if to_file:
            written = _append_to_file(directory, chosen, approver, digest, signature)
        else:
            with store.transaction(plan.stack) as txn:
                for gate in chosen:
                    txn.add_approval(ApprovalRecord(gate, approver, digest, now(), "cli", signature, tuple(chosen)))
        counted, rejected = trust.check(combine(_approvals_file(directory), store.approvals(plan.stack)))
        left = check_requirements(plan, digest, counted, policy, authors, gates=chosen, waiting=waiting,
                                  rejected=rejected)
    finally:
        store.close()
    how = "signed" if signature else "UNSIGNED (this stack's policy does not require signatures)"
    click.echo(f"{approver} approved {len(chosen)} gate(s) of plan {digest}, {how}:")
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


def _why_signed(spec: dict[str, Any], trust: Any) -> str:
    if trust.allowed_signers is not None:
        return "approvals.allowed_signers is set"
    if (spec.get("cloud") or {}).get("provider") == "huaweicloud":
        return "cloud.provider: huaweicloud; set approvals.allowed_signers"
    return "approvals.require_signatures: true"


class _Literal(str):
    """A multi-line string written as a YAML literal block (the armored signature stays readable in a diff)."""


def _append_to_file(directory: Path, gates: list[str], approver: str, digest: str, signature: str) -> Path:
    import yaml

    from mgc_iac.approvals import APPROVALS_FILE, approvals_path, load_approvals_file

    path = approvals_path(directory) or directory / APPROVALS_FILE
    if path.exists():
        load_approvals_file(path)  # a broken file is reported (file, line, field) before anything is written
    data = (yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None) or {}
    entry: dict[str, Any] = {"gates": gates, "by": approver, "plan_digest": digest}
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
