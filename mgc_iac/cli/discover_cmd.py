"""`mgc-iac discover`: what the source servers report, against the declared inventory."""

from __future__ import annotations

from pathlib import Path

import click

from mgc_iac.visible import visible_line


@click.command("discover")
@click.argument("stack", type=click.Path(path_type=Path))
@click.option("--write", "write_to", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the inventory with the discovered facts as a sources YAML file (review, then commit).")
def discover_cmd(stack: Path, write_to: Path | None) -> None:
    """Run the read-only facts script on every source of STACK over SSH and report, per source, what differs
    from the declared inventory (MAC, memory, CPUs, disks), and MACs shared by two servers.

    Exit code 0 when every source answered and matches, 1 otherwise.
    """
    import yaml

    from mgc_iac.operations.discover import discover_sources, duplicate_macs, sources_document
    from mgc_iac.operations.planning import state_path_for
    from mgc_iac.stack.loader import load_stack
    from mgc_iac.state import open_store, state_exists

    loaded = load_stack(stack)
    spec = loaded.canonical
    found = discover_sources(spec, loaded.directory)
    elsewhere: dict[str, tuple[str, str]] = {}
    path = state_path_for(loaded)
    if state_exists(path):
        store = open_store(path)
        try:
            elsewhere = store.macs_elsewhere(loaded.stack.metadata.name)
        finally:
            store.close()
    problems = 0
    for item in found:
        if item.error:
            problems += 1
            click.secho(visible_line(f"{item.name}: unreachable: {item.error}"), fg="red", err=True)
        elif item.differences:
            problems += 1
            for diff in item.differences:
                click.echo(visible_line(f"{item.name}: {diff.field} declared {diff.declared}, discovered "
                                        f"{diff.discovered}"))
        else:
            f = item.facts
            rsync = "present" if f.rsync_present else "MISSING"
            system = visible_line(f.os.pretty_name or f.os.id)
            click.echo(f"{item.name}: matches the inventory ({system}, {f.cpu_count} CPUs, "
                       f"{f.memory_available_kb // 1024} MB available, rsync {rsync})")
    for line in duplicate_macs(found, elsewhere):
        problems += 1
        click.secho(line, fg="red", err=True)
    if write_to is not None:
        text = yaml.safe_dump(sources_document(spec, found), sort_keys=False, allow_unicode=True)
        write_to.write_text("# Written by `mgc-iac discover`: the inventory with what the servers reported.\n" + text)
        click.echo(f"wrote {write_to}")
    if problems:
        raise SystemExit(1)
