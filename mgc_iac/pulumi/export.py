"""mgc-iac state -> a Pulumi deployment (`pulumi stack import` format, version 3). Pure: no I/O, no cloud.

The deployment holds, in dependency order: the Stack, the default `pulumi-python` provider, then one
resource per recorded resource, typed and named as the Pulumi program declares it (mgc_iac.pulumi.program):
type `pulumi-python:dynamic/mgc:<Kind>`, name = the mgc-iac address. Inputs are what the engine sends the
provider (mgc_iac.engine.runners.cloud) plus `__provider` (the provider serialized as Pulumi serializes it);
outputs are the inputs plus the recorded outputs, as the providers return them. A migration task depends on
its target (through `target_server_id`). Steps, gates and the journal have no Pulumi equivalent and are not
exported. Resources carry no `created`/`modified`: Pulumi's deployment schema rejects them.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mgc_iac.graph import MIGRATION_TASK, NOTIFICATION, TARGET_SERVER
from mgc_iac.state import ResourceRecord, Snapshot

DEPLOYMENT_VERSION = 3
PULUMI_SDK_FALLBACK = "3.272.0"
PROVIDER_TYPE = "pulumi:providers:pulumi-python"
STACK_TYPE = "pulumi:pulumi:Stack"
KIND_ORDER = (NOTIFICATION, TARGET_SERVER, MIGRATION_TASK)  # dependencies before dependents


@dataclass(frozen=True)
class ExportOptions:
    project: str = "mgc-iac"  # the `name` of Pulumi.yaml
    pulumi_stack: str | None = None  # the Pulumi stack the deployment is for (default: the mgc-iac stack name)
    cloud: dict[str, Any] = field(default_factory=dict)  # the non-secret cloud config (mgc_iac.cloud.endpoint)
    os_by_server: dict[str, str] = field(default_factory=dict)  # server name -> linux | windows
    time: str | None = None  # the manifest time (default: now, UTC)


def urn(stack: str, project: str, type_: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def _drop_none(value: Any) -> Any:
    """Pulumi does not keep null properties."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _serialized_providers() -> dict[str, str]:
    from pulumi.dynamic.dynamic import serialize_provider

    from mgc_iac.providers import PROVIDERS

    return {kind: serialize_provider(cls()) for kind, cls in PROVIDERS.items()}


def to_deployment(snapshot: Snapshot, options: ExportOptions | None = None) -> dict[str, Any]:
    """The Pulumi deployment of `snapshot`: {"version": 3, "deployment": {"manifest", "resources"}}."""
    from mgc_iac.engine import CloudSteps
    from mgc_iac.pulumi.program import type_token

    opts = options or ExportOptions()
    stack = opts.pulumi_stack or snapshot.stack
    stack_urn = urn(stack, opts.project, STACK_TYPE, f"{opts.project}-{stack}")
    provider_urn = urn(stack, opts.project, PROVIDER_TYPE, "default")
    provider_id = str(uuid.uuid5(uuid.NAMESPACE_URL, provider_urn))
    provider_ref = f"{provider_urn}::{provider_id}"
    steps = CloudSteps(opts.cloud)
    serialized = _serialized_providers()
    records = sorted(snapshot.resources.values(), key=lambda r: (KIND_ORDER.index(r.kind), r.address))
    urns = {r.address: urn(stack, opts.project, type_token(r.kind), r.address) for r in records}
    exports = {"mgc_iac_stack": snapshot.stack,  # what the program exports (mgc_iac.operations._program.declare)
               "target_server_ids": {r.address: r.outputs["id"] for r in records
                                     if r.kind == TARGET_SERVER and r.outputs.get("id")}}
    out: list[dict[str, Any]] = [
        {"urn": stack_urn, "custom": False, "type": STACK_TYPE, "outputs": exports},
        {"urn": provider_urn, "custom": True, "id": provider_id, "type": PROVIDER_TYPE, "inputs": {},
         "outputs": {}},
    ]
    for record in records:
        inputs, outputs, deps = _properties(steps, snapshot, record, opts)
        inputs["__provider"] = outputs["__provider"] = serialized[record.kind]
        property_deps = {key: [urns[address]] for key, address in deps.items() if address in urns}
        out.append({
            "urn": urns[record.address], "custom": True, "id": _resource_id(record), "type": type_token(record.kind),
            "inputs": _drop_none(inputs), "outputs": _drop_none(outputs), "parent": stack_urn,
            "provider": provider_ref, "dependencies": sorted({u for us in property_deps.values() for u in us}),
            "propertyDependencies": property_deps,
        })
    return {"version": DEPLOYMENT_VERSION, "deployment": {"manifest": _manifest(opts.time), "resources": out}}


def _resource_id(record: ResourceRecord) -> str:
    if record.kind == NOTIFICATION:
        return record.address  # NotificationProvider.create: the topic is the user's; the id is the address
    return str(record.outputs.get("id") or "")


def _properties(steps: Any, snapshot: Snapshot, record: ResourceRecord,
                opts: ExportOptions) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
    """(inputs, outputs, {input key: address it depends on}) of one record, as the engine builds them."""
    if record.kind == TARGET_SERVER:
        os_name = opts.os_by_server.get(record.server or "", "linux")
        inputs = steps._target_props(snapshot.stack, record.address, record.attrs, os_name,
                                     int(record.outputs.get("generation") or 0))
        return inputs, {**inputs, **record.outputs}, {}
    if record.kind == MIGRATION_TASK:
        target_address = str(record.attrs.get("target") or "")
        target = snapshot.resources.get(target_address)
        target_id = str(target.outputs.get("id") or "") if target else ""
        inputs = steps._task_props(snapshot.stack, record.address, record.attrs, target_id)
        return inputs, {**inputs, **record.outputs}, {"target_server_id": target_address}
    inputs = {**record.attrs, "stack": snapshot.stack, "address": record.address, "cloud": steps.cloud_config}
    return inputs, {**inputs, **record.outputs}, {}


def _manifest(time: str | None) -> dict[str, str]:
    try:
        from importlib.metadata import version

        pulumi_version = version("pulumi")
    except Exception:  # noqa: BLE001 - the version is informative only
        pulumi_version = PULUMI_SDK_FALLBACK
    when = time or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"time": when, "magic": hashlib.sha256(pulumi_version.encode()).hexdigest(), "version": pulumi_version}
