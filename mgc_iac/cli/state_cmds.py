"""`state unlock|journal|export|migrate`: parse, call the operation (mgc_iac.operations), render its result."""

from __future__ import annotations

import json
from pathlib import Path

import click

from mgc_iac.cli._output import emit, format_option


@click.group("state")
def state_group() -> None:
    """Inspect, export, migrate or repair recorded state."""


@state_group.command("unlock")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--force", "lock_id", metavar="LOCK_ID",
              help="Remove the lock with this id even though its holder looks alive (the id `status` and a "
                   "refused unlock print). Only when you know that apply is gone. With PostgreSQL state this "
                   "also ends the holder's database session.")
def unlock_cmd(stack: Path, lock_id: str | None) -> None:
    """Remove the state lock of STACK left by a process that is gone.

    Refused while the holder runs on this host, or when another host took the lock recently (24 h): then
    check that apply is really gone and pass `--force LOCK_ID`, as `terraform force-unlock LOCK_ID`.
    """
    from mgc_iac.operations import STATE_WRITE, Workspace, unlock

    with Workspace.open(stack, state=STATE_WRITE) as ws:
        held = unlock(ws, lock_id).removed
    if held is None:
        click.echo("no lock was held")
        return
    click.echo(f"removed the lock {held.lock_id} of pid {held.pid} on {held.host} ({held.operation})")


@state_group.command("journal")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--limit", type=int, default=50, show_default=True)
@format_option("one `journal` document on stdout: the entries, oldest first, each with seq, address "
               "(workflow/server/step or a resource), phase (before, after, failed, waiting, ...), at (UTC), detail "
               "(schemas/output/journal.schema.json).")
def journal_cmd(stack: Path, limit: int, fmt: str) -> None:
    """The last entries of STACK's write-ahead journal (before/after records of each step)."""
    from mgc_iac.operations import STATE_READ, Workspace, journal

    with Workspace.open(stack, state=STATE_READ) as ws:
        entries = journal(ws, limit)
        name = ws.name
    if fmt == "json":
        from mgc_iac.render import journal as journal_document

        emit(journal_document(name, entries))
        return
    for e in entries:
        click.echo(f"{e.seq:>6} {e.at} {e.phase:<11} {e.address} {json.dumps(e.detail, sort_keys=True)}")


@state_group.command("export")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--format", "fmt", type=click.Choice(["pulumi"]), default="pulumi", show_default=True,
              help="pulumi: a deployment for `pulumi stack import` (version 3).")
@click.option("--out", "out", type=click.Path(path_type=Path, dir_okay=False),
              help="Write to FILE instead of stdout.")
@click.option("--pulumi-stack", help="The Pulumi stack it is for (URNs name it). Default: the mgc-iac stack name.")
@click.option("--project", default="mgc-iac", show_default=True, help="The Pulumi project (Pulumi.yaml name).")
def export_cmd(stack: Path, fmt: str, out: Path | None, pulumi_stack: str | None, project: str) -> None:
    """Export STACK's recorded resources (ids, inputs, outputs, dependencies) as a Pulumi deployment.

    Import it with `pulumi stack import --file FILE` into the stack named by --pulumi-stack.
    Steps, gates and the journal stay in mgc-iac's state: Pulumi has no equivalent.
    """
    from mgc_iac.operations import STATE_WRITE, Workspace, export_state

    with Workspace.open(stack, state=STATE_WRITE) as ws:
        exported = export_state(ws, project=project, pulumi_stack=pulumi_stack)
    text = json.dumps(exported.deployment, indent=2, sort_keys=True) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {exported.resources} resource(s) of {exported.stack} to {out} ({fmt} deployment, version 3)",
               err=True)


@state_group.command("migrate")
@click.argument("stack", type=click.Path(path_type=Path, exists=True))
@click.option("--to", "destination", required=True, metavar="URL|PATH",
              help="The new backend: postgresql://USER@HOST:PORT/DB (password from PGPASSWORD, ~/.pgpass or a "
                   "service file) or a SQLite file.")
@click.option("--all", "all_stacks", is_flag=True, help="Copy every stack of STACK's backend, not only STACK.")
def migrate_cmd(stack: Path, destination: str, all_stacks: bool) -> None:
    """Copy STACK's recorded state to another backend, then show that a re-plan against it has no changes.

    The old backend is left as it was. Point the stack at the new one afterwards (`state: {url: ...}` in the
    stack, or MGC_IAC_STATE) and run `mgc-iac plan` there.
    """
    from mgc_iac.operations import STATE_WRITE, Workspace, migrate_state

    with Workspace.open(stack, state=STATE_WRITE) as ws:
        migrated = migrate_state(ws, destination, all_stacks=all_stacks)
    for export in migrated.copied:
        click.echo(f"copied stack {export.stack}: serial {export.serial}, {len(export.resources)} resource(s), "
                   f"{len(export.steps)} step record(s), {len(export.journal)} journal entries")
    click.echo(f"re-plan of {migrated.stack} against {migrated.where}: "
               + ("no changes" if not migrated.has_changes else "the same plan as against the old backend")
               + f" (digest {migrated.digest})")
    click.echo(f"Now point the stack at it: `state: {{url: {migrated.where}}}` in the stack, or "
               f"MGC_IAC_STATE={migrated.where}")
