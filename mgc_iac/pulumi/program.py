"""The Pulumi program: the same desired graph as `mgc-iac apply`, declared as Pulumi dynamic resources.

Pulumi.yaml runs pulumi_program/__main__.py, which runs the operation mgc_iac.operations._program: the stack's
workspace opened, then `declare_graph` here. For every desired resource of the stack's graph
(mgc_iac.graph.build_graph) one `pulumi.dynamic.Resource` is declared with the provider from providers/ and the
inputs the engine builds (mgc_iac.engine.runners.cloud.CloudSteps), so `pulumi up` and `mgc-iac apply` send the
providers the same properties.

Only resources are declared: the steps (StartMigration, synchronization, verification, the manual gates,
cutover, clearing) are engine actions on existing resources, not resources (providers/README.md, "Steps and
gates under Pulumi"). The resource name is the mgc-iac address (workflow/server/kind), so a Pulumi URN and an
mgc-iac state record name the same thing (see mgc_iac.pulumi.export).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi.dynamic

from mgc_iac.engine import CloudSteps
from mgc_iac.graph import MIGRATION_TASK, NOTIFICATION, REPLACE_ON, TARGET_SERVER, DesiredResource, Graph

PROJECT = "mgc-iac"
STACK_CONFIG_KEY = "stack"  # `pulumi config set mgc-iac:stack stacks/demo`
MODULE = "mgc"


class TargetServer(pulumi.dynamic.Resource, module=MODULE, name="TargetServer"):
    """An ECS server with its (encrypted) disks: providers.target_server.TargetServerProvider."""


class MigrationTask(pulumi.dynamic.Resource, module=MODULE, name="MigrationTask"):
    """An SMS task into the target server: providers.migration_task.MigrationTaskProvider."""


class Notification(pulumi.dynamic.Resource, module=MODULE, name="Notification"):
    """A workflow's SMN topic (checked, never created): providers.notification.NotificationProvider."""


RESOURCE_CLASSES: dict[str, type[pulumi.dynamic.Resource]] = {
    TARGET_SERVER: TargetServer, MIGRATION_TASK: MigrationTask, NOTIFICATION: Notification}


def type_token(kind: str) -> str:
    """The Pulumi type of a resource kind, e.g. pulumi-python:dynamic/mgc:TargetServer."""
    return f"pulumi-python:{RESOURCE_CLASSES[kind]._resource_type_name}"


def replacement_generation(attrs: dict[str, Any]) -> int:
    """The `generation` input of a target under Pulumi: a digest of the attributes that force a replacement.

    The engine counts replacements (0, 1, ...) in its state; Pulumi replaces without telling the program, so
    the program derives the generation from what forces a replacement. A replacement then gets a new ECS
    idempotency token (providers.target_server.client_token) instead of replaying the deleted server's create."""
    keys = sorted(REPLACE_ON[TARGET_SERVER]) + ["disks"]
    data = json.dumps({k: _canonical(attrs.get(k)) for k in keys}, sort_keys=True, separators=(",", ":"))
    return int(hashlib.sha256(data.encode()).hexdigest()[:8], 16)


def _canonical(value: Any) -> Any:
    """The same value whichever way it travelled: 40 and 40.0 (a protobuf Struct number) alike, no nulls."""
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class Declared:
    """What `declare` registered, by mgc-iac address."""

    graph: Graph
    resources: dict[str, pulumi.dynamic.Resource]


def _server_os(spec: dict[str, Any], server: str | None) -> str:
    return next((s["os"] for s in spec.get("sources", []) if s["name"] == server), "linux")


def declare_graph(graph: Graph, spec: dict[str, Any], cloud: dict[str, Any]) -> Declared:
    """Declare one dynamic resource per desired resource of `graph`, with the engine's inputs."""
    from mgc_iac.providers import MigrationTaskProvider, NotificationProvider, TargetServerProvider

    steps = CloudSteps(cloud)
    declared: dict[str, pulumi.dynamic.Resource] = {}
    resources = graph.resources
    for address, res in resources.items():
        if res.kind == NOTIFICATION:
            props = {**res.attrs, "stack": graph.stack, "address": address, "cloud": steps.cloud_config}
            declared[address] = Notification(NotificationProvider(), address, props)
    for address, res in resources.items():
        if res.kind == TARGET_SERVER:
            props = steps._target_props(graph.stack, address, res.attrs, _server_os(spec, res.server),
                                        replacement_generation(res.attrs))
            declared[address] = TargetServer(TargetServerProvider(), address, props)
    for address, res in resources.items():
        if res.kind == MIGRATION_TASK:
            declared[address] = _task(steps, graph.stack, res, declared, MigrationTaskProvider())
    return Declared(graph, declared)


def _task(steps: CloudSteps, stack: str, res: DesiredResource, declared: dict[str, pulumi.dynamic.Resource],
          provider: pulumi.dynamic.ResourceProvider) -> MigrationTask:
    target = declared[res.attrs["target"]]
    # target_server_id is the target's id Output: Pulumi creates the target first and records the edge.
    props = steps._task_props(stack, res.address, res.attrs, target.id)  # type: ignore[arg-type]
    return MigrationTask(provider, res.address, props, pulumi.ResourceOptions(depends_on=[target]))


def stack_dir_from_config(project_root: Path) -> Path:
    """The stack directory from `mgc-iac:stack` (relative to the project root, where Pulumi.yaml is)."""
    value = pulumi.Config(PROJECT).require(STACK_CONFIG_KEY)
    path = Path(value).expanduser()
    return path if path.is_absolute() else project_root / path
