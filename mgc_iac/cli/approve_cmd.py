"""`approve`: parse, call the operation (mgc_iac.operations._approve), render what was approved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from mgc_iac.cli._output import emit, format_option, json_output

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
@format_option("one `approval` document on stdout: approver, gates, plan digest, signed, where it is recorded "
               "(state or approvals-file, and the file), what still waits (gate, code, reason) "
               "(schemas/output/approval.schema.json); with --check one `approval-check` document: ok, the counts "
               "and one line per entry (schemas/output/approval-check.schema.json).")
def approve_cmd(stack: Path, gates: tuple[str, ...], all_waiting: bool, key_file: Path | None, name: str | None,
                to_file: bool, plan_file: Path | None, offline_digest: str | None, environment: str | None,
                cloud_account: str | None, override_checks: bool, check_only: bool, fmt: str) -> None:
    """Approve gates of STACK that wait, for the current plan's digest, in this state backend and cloud account.

    An approval counts only for a gate the migration has reached (`not waiting yet` otherwise, unless the
    stack sets approvals.allow_advance: true), only for this plan digest (a changed plan discards it), and only
    in this environment: the state backend's id and the cloud account/project are part of what is signed.
    """
    from mgc_iac.operations import (
        ApproveRequest,
        OfflineApproval,
        Workspace,
        approve,
        approve_offline,
        check_file,
        open_for_approve,
    )
    from mgc_iac.visible import visible_line

    chosen = tuple(dict.fromkeys(gates))
    if offline_digest is not None or environment is not None:
        if not (offline_digest and environment and key_file is not None and to_file and chosen):
            raise click.UsageError("offline approval needs --gate ..., --digest, --environment, --key and --to-file "
                                   "(the digest and the environment are what apply printed)")
        with Workspace.open(stack) as ws:
            done = approve_offline(ws, OfflineApproval(chosen, key_file, offline_digest, environment, cloud_account,
                                                       override_checks))
        if json_output():
            emit(_document(done, override_checks))
            return
        click.echo(f"{done.approver} signed {len(done.gates)} gate(s) of plan {done.digest} for environment "
                   f"{done.environment} ({done.cloud}), offline:")
        for gate in done.gates:
            click.echo(f"  {gate}")
        click.echo(f"Appended to {done.written}: commit it. Apply counts it only if these gates wait in that "
                   "environment for that plan, and the policy's other rules hold.")
        return
    if check_only:
        with open_for_approve(stack, plan_file, writes_state=False) as ws:
            checked = check_file(ws, plan_file)
        if json_output():
            from mgc_iac.render import approval_check

            emit(approval_check(checked.directory, checked.digest, checked.review))
            raise SystemExit(0 if checked.ok else 1)
        if checked.review is None:
            click.echo(f"{checked.directory}: no approvals.yaml: nothing to check")
            return
        for line in checked.review.lines:
            click.echo(visible_line(line))
        click.echo(f"{checked.review.counted} approval(s) of the current plan {checked.digest} verify, "
                   f"{checked.review.rejected} do not, {checked.review.stale} approve another plan.")
        if not checked.ok:
            raise SystemExit(1)
        return
    request = ApproveRequest(chosen, all_waiting, key_file, name, to_file, plan_file, override_checks)
    with open_for_approve(stack, plan_file, writes_state=not to_file) as ws:
        done = approve(ws, request)
    if json_output():
        emit(_document(done, override_checks))
        return
    how = "signed" if done.signed else "UNSIGNED (this stack's policy does not require signatures)"
    click.echo(f"{done.approver} approved {len(done.gates)} gate(s) of plan {done.digest}, {how}"
               + (", OVERRIDING failed automated checks" if override_checks else "") + ":")
    for gate in done.gates:
        click.echo(f"  {gate}")
    if done.author_unknown:
        click.echo(f"  note: {done.author_unknown}")
    for refusal in done.still_waiting:
        click.echo(f"  still waiting: {refusal}")
    if done.written is not None:
        click.echo(f"Appended to {done.written}: commit it (the PR shows the signature), then apply after merge.")
    else:
        click.echo(f"Run `mgc-iac apply {stack}` to go on.")


def _document(done: Any, override_checks: bool) -> dict[str, Any]:  # done: operations.approve.Approved
    from mgc_iac.render import approval

    return approval(done.approver, done.gates, done.digest, done.signed, done.written, done.still_waiting,
                    override_checks=override_checks, note=done.author_unknown, environment=done.environment,
                    cloud=done.cloud)
