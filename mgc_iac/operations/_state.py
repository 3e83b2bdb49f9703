"""`state export` and `state migrate`: a stack's recorded state as a Pulumi deployment, or copied to another backend.

Export writes what `pulumi stack import` reads (mgc_iac.pulumi.export); steps, gates and the journal stay in
mgc-iac's state (Pulumi has no equivalent). Migrate copies SQLite <-> PostgreSQL, verified record by record and
by a re-plan against the copy; the old backend is left as it was. Nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mgc_iac.errors import StateError
from mgc_iac.operations._workspace import Workspace


@dataclass(frozen=True)
class Exported:
    stack: str
    deployment: dict[str, Any]
    resources: int


def export_cloud_config(spec: dict[str, Any]) -> dict[str, Any]:
    """The non-secret cloud config recorded in the deployment, without starting a lab: a lab is named by its state
    directory only (no URL, which changes when the lab restarts); a provider finds the lab running there."""
    from mgc_iac.cloud import cloud_config, default_lab_dir, provider_of

    return cloud_config(spec, lab_dir=default_lab_dir() if provider_of(spec) == "lab" else None)


def export_state(ws: Workspace, *, project: str = "mgc-iac", pulumi_stack: str | None = None) -> Exported:
    """The stack's recorded resources (ids, inputs, outputs, dependencies) as a Pulumi deployment (version 3)."""
    from mgc_iac.pulumi import ExportOptions, to_deployment

    snapshot = ws.store.snapshot(ws.name)
    options = ExportOptions(project=project, pulumi_stack=pulumi_stack, cloud=export_cloud_config(ws.spec),
                            os_by_server={s["name"]: s["os"] for s in ws.spec.get("sources", [])})
    return Exported(ws.name, to_deployment(snapshot, options), len(snapshot.resources))


@dataclass(frozen=True)
class Migrated:
    copied: list[Any]            # mgc_iac.state.migrate's exports: one per stack copied
    stack: str
    digest: str                  # of the re-plan against the copy (the same as against the original)
    has_changes: bool
    where: str                   # the destination, without its query string


def migrate_state(ws: Workspace, destination: str, *, all_stacks: bool = False) -> Migrated:
    """Copy the stack's state (or every stack of its backend) to `destination` (a postgresql:// URL or a SQLite
    file), then check the copy record by record and by a re-plan that must equal the one against the original."""
    from mgc_iac.operations._planning import check_loaded, plan_checked
    from mgc_iac.plan import plan_digest
    from mgc_iac.state import copy_stacks, differences, is_url, open_store

    source, name = ws.store, ws.name
    target = open_store(destination if is_url(destination) else Path(destination).expanduser())
    try:
        stacks = source.stacks() if all_stacks else [name]
        if name not in stacks:
            stacks.append(name)
        copied = copy_stacks(source, target, stacks)
        wrong = differences(source, target, stacks)
        if wrong:
            raise StateError("the copy differs from the original in " + ", ".join(wrong))
        assert ws.checked is not None
        before = plan_checked(ws.checked, source.snapshot(name), store=source).plan
        after = plan_checked(check_loaded(ws.loaded, store=target), target.snapshot(name), store=target).plan
        if plan_digest(before) != plan_digest(after):
            raise StateError(f"a plan of {ws.directory} against the copy differs from one against the original")
    finally:
        target.close()
    return Migrated(copied, name, plan_digest(after), after.has_changes, destination.split("?", 1)[0])
