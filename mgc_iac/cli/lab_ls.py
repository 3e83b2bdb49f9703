"""`mgc-iac lab ls KIND`: what the lab holds, read through its own API with the official SDK (the same clients
as a migration uses), so a user sees what a migration created and what a crash left behind."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

# kind -> the columns of its table (keys of the rows below)
COLUMNS: dict[str, tuple[str, ...]] = {
    "servers": ("id", "name", "status", "flavor", "private_ips", "public_ips", "volumes", "tags"),
    "volumes": ("id", "name", "size_gb", "status", "encrypted", "kms_key_id", "server_ids"),
    "tasks": ("id", "name", "state", "source_id", "target_server_id", "progress", "connected"),
    "sources": ("id", "name", "ip", "os_type", "state", "connected", "current_task_id"),
    "keys": ("key_id", "alias", "spec", "state", "enabled"),
    "topics": ("urn", "name", "display_name"),
    "messages": ("time", "topic", "subject", "message_id"),
}


def rows(kind: str, cloud: Any, control: Any) -> list[dict[str, Any]]:
    """The lab's `kind` as plain rows: the client's typed results (dataclasses) as dicts."""
    if kind == "servers":
        return [{**asdict(s), "volumes": len(s.volume_ids)} for s in cloud.ecs.find_servers()]
    if kind == "volumes":
        return [asdict(v) for v in cloud.evs.list_volumes()]
    if kind == "tasks":
        return [{**asdict(t), "progress": _progress(t)} for t in cloud.sms.list_tasks()]
    if kind == "sources":
        return [asdict(s) for s in cloud.sms.list_sources()]
    if kind == "keys":
        return [asdict(k) for k in cloud.kms.list_keys()]
    if kind == "topics":
        return [asdict(t) for t in cloud.smn.list_topics()]
    return list(control.messages())


def _progress(task: Any) -> str:
    if not task.total_bytes:
        return "-"
    return f"{task.replicated_bytes * 100 // task.total_bytes}% of {task.total_bytes} bytes"


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


@click.command("ls")
@click.argument("kind", type=click.Choice(list(COLUMNS)))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--dir", "state_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Lab state directory (default $MGC_IAC_LAB_DIR or ~/.mgc-iac/lab).")
def ls_cmd(kind: str, fmt: str, state_dir: Path | None) -> None:
    """List the lab's servers, volumes, tasks, sources, keys, topics or messages (SMN messages received).

    Read through the lab's HTTP API with the official Huawei SDK clients, as a migration reads Huawei Cloud:
    after a crash this shows what exists (a server without a task, a task never cleared, a volume left over).
    """
    from mgc_iac.cli.lab_cmds import _settings, _state_dir
    from mgc_iac.cloud import Cloud, LabControl

    settings, _ = _settings(_state_dir(state_dir))
    found = rows(kind, Cloud(settings), LabControl(settings))
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
