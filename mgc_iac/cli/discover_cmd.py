"""`mgc-iac discover`: what the source servers report, against the declared inventory."""

from __future__ import annotations

from pathlib import Path

import click

from mgc_iac.cli._output import emit, format_option
from mgc_iac.visible import visible_line


@click.command("discover")
@click.argument("stack", type=click.Path(path_type=Path))
@click.option("--write", "write_to", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the inventory with the discovered facts as a sources YAML file (review, then commit).")
@format_option("one `discovery` document on stdout: per source what it reported (hostname, OS, CPUs, memory, "
               "MACs, rsync) or why it could not be asked, how it differs from the inventory (field, declared, "
               "discovered), MACs seen on two sources, the file written (schemas/output/discovery.schema.json).")
def discover_cmd(stack: Path, write_to: Path | None, fmt: str) -> None:
    """Run the read-only facts script on every source of STACK over SSH and report, per source, what differs
    from the declared inventory (MAC, memory, CPUs, disks), and MACs shared by two servers.

    Exit code 0 when every source answered and matches, 1 otherwise.
    """
    from mgc_iac.operations import Workspace, discover

    with Workspace.open(stack) as ws:
        found = discover(ws, write_to)
        name = ws.name
    if fmt == "json":
        from mgc_iac.render import discovery

        emit(discovery(name, found.found, found.duplicates, found.written))
        raise SystemExit(1 if found.problems else 0)
    for item in found.found:
        if item.error:
            click.secho(visible_line(f"{item.name}: unreachable: {item.error}"), fg="red", err=True)
        elif item.differences:
            for diff in item.differences:
                click.echo(visible_line(f"{item.name}: {diff.field} declared {diff.declared}, discovered "
                                        f"{diff.discovered}"))
        else:
            f = item.facts
            rsync = "present" if f.rsync_present else "MISSING"
            system = visible_line(f.os.pretty_name or f.os.id)
            click.echo(f"{item.name}: matches the inventory ({system}, {f.cpu_count} CPUs, "
                       f"{f.memory_available_kb // 1024} MB available, rsync {rsync})")
    for line in found.duplicates:
        click.secho(line, fg="red", err=True)
    if found.written is not None:
        click.echo(f"wrote {found.written}")
    if found.problems:
        raise SystemExit(1)
