"""`mgc-iac state export STACK --format pulumi`: write the recorded state as a Pulumi deployment.

The deployment is what `pulumi stack import` reads (mgc_iac.pulumi.export): hand a stack applied by
mgc-iac over to the Pulumi program of Pulumi.yaml, or inspect it with Pulumi's tools.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


def export_cloud_config(spec: dict[str, Any]) -> dict[str, Any]:
    """The non-secret cloud config to record in the deployment, without starting a lab: a lab is named by its
    state directory only (no URL, which changes when the lab restarts); the provider finds or starts it."""
    cloud = spec.get("cloud") or {}
    provider = cloud.get("provider", "lab")
    config: dict[str, Any] = {"provider": provider, "region": cloud.get("region", "cn-north-4")}
    if cloud.get("endpoints"):
        config["endpoints"] = dict(sorted(cloud["endpoints"].items()))
    if provider == "lab":
        from mgc_iac.lab import default_state_dir

        config["lab_dir"] = str(default_state_dir())
    return config


@click.command("export")
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
    from mgc_iac.cli.apply_cmds import _stack_and_store
    from mgc_iac.pulumi.export import ExportOptions, to_deployment

    name, spec, store = _stack_and_store(stack)
    try:
        snapshot = store.snapshot(name)
    finally:
        store.close()
    options = ExportOptions(project=project, pulumi_stack=pulumi_stack, cloud=export_cloud_config(spec),
                            os_by_server={s["name"]: s["os"] for s in spec.get("sources", [])})
    text = json.dumps(to_deployment(snapshot, options), indent=2, sort_keys=True) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    click.echo(f"wrote {len(snapshot.resources)} resource(s) of {name} to {out} ({fmt} deployment, version 3)",
               err=True)
