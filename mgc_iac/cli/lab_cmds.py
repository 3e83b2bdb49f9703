"""`mgc-iac lab ...`: parse, call the lab operation (mgc_iac.operations.lab), render its result."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import click

from mgc_iac.cli._output import emit, format_option

_DIR = click.option("--dir", "state_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                    help="Lab state directory (default $MGC_IAC_LAB_DIR or ~/.mgc-iac/lab).")

# kind -> the columns of its table (keys of the rows mgc_iac.operations.lab.ls gives)
COLUMNS: dict[str, tuple[str, ...]] = {
    "servers": ("id", "name", "status", "flavor", "private_ips", "public_ips", "volumes", "tags"),
    "volumes": ("id", "name", "size_gb", "status", "encrypted", "kms_key_id", "server_ids"),
    "tasks": ("id", "name", "state", "source_id", "target_server_id", "progress", "connected"),
    "sources": ("id", "name", "ip", "os_type", "state", "connected", "current_task_id"),
    "keys": ("key_id", "alias", "spec", "state", "enabled"),
    "topics": ("urn", "name", "display_name"),
    "messages": ("time", "topic", "subject", "message_id"),
}


class _LabGroup(click.Group):
    """A lab that does not run is a usage message of the command (as click prints it), not an internal error."""

    def invoke(self, ctx: click.Context) -> Any:
        from mgc_iac.operations.lab import LabNotRunningError

        try:
            return super().invoke(ctx)
        except LabNotRunningError as exc:
            raise click.ClickException(str(exc)) from None


@click.group("lab", cls=_LabGroup)
def lab_group() -> None:
    """Run the embedded lab: a loopback Huawei Cloud (ECS, EVS, KMS, SMN, VPC, SMS) for the demo and tests.

    The lab verifies SDK-HMAC-SHA256 signatures with its own AK/SK (generated on first start, kept in the
    state directory with mode 0600), keeps its state in SQLite across restarts, and answers on 127.0.0.1
    only. A stack with `cloud.provider: lab` finds or starts it by itself; `lab up` is for using the lab
    from your own shell or scripts:

        eval "$(mgc-iac lab up --seed stacks/demo/lab-seed.yaml)"
    """


@lab_group.command("up")
@click.option("--port", type=int, default=0, show_default=True, help="Loopback port (0 = any free port).")
@click.option("--seed", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Seed file whose `cloud:` section declares the account (VPCs, keys, topics...).")
@_DIR
def up_cmd(port: int, seed: Path | None, state_dir: Path | None) -> None:
    """Start the lab in the background and print the environment to export (this prints the lab's SK)."""
    from mgc_iac.operations.lab import up

    lab = up(state_dir, seed, port)
    if lab.started:
        click.echo(f"# lab started at {lab.endpoint.url}; state in {lab.state_dir}", err=True)
    else:
        click.echo(f"# the lab already runs at {lab.endpoint.url}", err=True)
    for key, value in lab.endpoint.env().items():
        click.echo(f"export {key}={shlex.quote(value)}")


@lab_group.command("status")
@_DIR
def status_cmd(state_dir: Path | None) -> None:
    """Say whether the lab runs, where, and with which settings and faults."""
    from mgc_iac.operations.lab import status

    lab = status(state_dir)
    click.echo(f"running: {lab.url} (pid {lab.pid}), region {lab.region}, project {lab.project_id}")
    click.echo(f"state:   {lab.state_dir}")
    click.echo(f"settings: job_seconds={lab.settings['job_seconds']} instant_transfers="
               f"{str(lab.settings['instant_transfers']).lower()}")
    click.echo(f"faults:  {len(lab.faults)} rule(s)" + "".join(f"\n  - {r}" for r in lab.faults))


@lab_group.command("down")
@_DIR
def down_cmd(state_dir: Path | None) -> None:
    """Stop the background lab and its SSH hosts, with the SMS-Agents running in them (their state stays on disk
    for the next `lab up` or apply)."""
    from mgc_iac.operations.lab import down

    stopped = down(state_dir)
    if stopped.hosts:
        click.echo("lab hosts stopped (with the SMS-Agents running in them)")
    click.echo("lab stopped" if stopped.lab else f"no lab runs from {stopped.state_dir}")


@lab_group.command("messages")
@_DIR
@format_option("one `lab-messages` document on stdout: each notification's time, topic, subject and message "
               "(schemas/output/lab-messages.schema.json).")
def messages_cmd(state_dir: Path | None, fmt: str) -> None:
    """Show the SMN notifications the lab received (what subscribers of the topics would get)."""
    from mgc_iac.operations.lab import messages

    found = messages(state_dir)
    if fmt == "json":
        from mgc_iac.render import lab_messages

        emit(lab_messages(found))
        return
    if not found:
        click.echo("no messages")
    from mgc_iac.visible import visible, visible_line

    for m in found:
        body = "\n".join("    " + line for line in visible(m["message"]).splitlines())
        click.echo(f"{m['time']}  {visible_line(m['topic'])}  {visible_line(m['subject'])}\n{body}")


@lab_group.command("reset")
@_DIR
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def reset_cmd(state_dir: Path | None, yes: bool) -> None:
    """Forget every server, volume, source, task and message; load the seed again (a lab that is not running is
    reset on disk)."""
    from mgc_iac.operations.lab import check_resettable, reset

    where = check_resettable(state_dir)  # refused before asking
    if not yes:
        click.confirm("Forget everything the lab holds and reload its seed?", abort=True)
    if not reset(where):
        click.echo(f"lab reset to its seed (on disk in {where}; it was not running)")
        return
    click.echo("lab reset to its seed")


@lab_group.command("ls")
@click.argument("kind", type=click.Choice(list(COLUMNS)))
@format_option("the rows as a JSON array (the columns of the table, and more).", ("table", "json"))
@_DIR
def ls_cmd(kind: str, fmt: str, state_dir: Path | None) -> None:
    """List the lab's servers, volumes, tasks, sources, keys, topics or messages (SMN messages received).

    Read through the lab's HTTP API with the official Huawei SDK clients, as a migration reads Huawei Cloud:
    after a crash this shows what exists (a server without a task, a task never cleared, a volume left over).
    """
    from mgc_iac.operations.lab import ls

    found = ls(kind, state_dir)
    if fmt == "json":
        click.echo(json.dumps(found, indent=2, sort_keys=True, default=str))
        return
    if not found:
        click.echo(f"no {kind}")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in COLUMNS[kind]:
        table.add_column(column, overflow="fold")
    for row in found:
        table.add_row(*(Text(_cell(row.get(c))) for c in COLUMNS[kind]))  # literal: a subject may hold `[...]`
    Console(soft_wrap=False, width=max(160, Console().width)).print(table)
    click.echo(f"{len(found)} {kind}")


def _cell(value: Any) -> str:
    """A table cell as the user reads it: control characters in a name or a message shown escaped."""
    from mgc_iac.visible import visible_line

    return visible_line(_text(value))


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items())) or "-"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "-" if value in (None, "") else str(value)
