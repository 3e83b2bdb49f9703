"""The target server: an ECS server with its disks (encrypted with a KMS key when asked), tags, and an EIP
(public migration network) or the source's retained private IP.

Inputs: the graph's target attributes (mgc_iac.graph.build._target_attrs) plus `stack`, `address`, `os`,
`generation` (bumped on each replacement, so a replacement gets a new idempotency token), `incarnation`
(the engine's: new for each new server at an address, kept across replays of one create) and `cloud`
(mgc_iac.cloud.endpoint.cloud_for). Outputs: ids and addresses, never a credential.

Encryption: root and data volumes carry metadata `__system__encrypted: "1"` and `__system__cmkid: KEY_ID`
(an enabled AES_256 key; an alias is resolved to its id). It never changes on an existing disk: replace.
Create is idempotent: the ECS X-Client-Token is derived from stack, address, generation and incarnation, so
a create replayed after a crash answers the server the first call created; a token that answers a server
deleted since moves on to the next of a fixed sequence. If create fails, no server was created or the
replay finds it.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)

from mgc_iac.cloud import cloud_for, evs_key_specs, kms_key, target_network
from mgc_iac.errors import CloudError, CloudNotFoundError
from mgc_iac.graph import EIP_BANDWIDTH_MBPS, TARGET_SERVER
from mgc_iac.providers._diff import diff_attrs

TOKEN_RETRIES = 3
META = ("stack", "address", "os", "generation", "incarnation", "cloud", "image_default")


def _outputs(props: dict[str, Any], server: Any, key_id: str | None, ids: dict[str, str]) -> dict[str, Any]:
    return {**props, "id": server.id, "server_name": server.name, "status": server.status,
            "private_ip": server.private_ips[0] if server.private_ips else None,
            "public_ip": server.public_ips[0] if server.public_ips else None,
            "volume_ids": list(server.volume_ids), "kms_key_id": key_id, **ids}


class TargetServerProvider(ResourceProvider):
    """One ECS server per migrated source."""

    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [CheckFailure(f, "is required") for f in ("name", "vpc", "subnet", "security_group", "flavor")
                    if not news.get(f)]
        enc = news.get("encryption") or {}
        if enc.get("enabled") and not (enc.get("key_id") or enc.get("key_alias")):
            failures.append(CheckFailure("encryption", "encryption needs key_id or key_alias"))
        if not news.get("disks"):
            failures.append(CheckFailure("disks", "at least the system disk is required"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return diff_attrs(TARGET_SERVER, olds, news, META)

    def create(self, props: dict[str, Any]) -> CreateResult:
        from mgc_iac.cloud import ServerRequest, VolumeRequest

        config = props["cloud"]
        cloud = cloud_for(config)
        vpc, subnet, group = target_network(config, props["vpc"], props["subnet"], props["security_group"])
        key_id = None
        enc = props.get("encryption") or {}
        if enc.get("enabled"):
            ref = enc.get("key_id") or enc["key_alias"]
            key = kms_key(config, ref)
            specs = evs_key_specs(cloud.settings.region)      # SM4 only in Chinese-mainland regions
            if not key.enabled or key.spec not in specs:
                raise CloudError(f"KMS key {key.alias or key.key_id} must be enabled and {' or '.join(specs)} to "
                                 f"encrypt disks in {cloud.settings.region} (it is {key.spec}, state {key.state})",
                                 service="kms", operation="describe_key")
            key_id = key.key_id
        image = props.get("image") or props.get("image_default")
        if not image:
            raise CloudError("no image for the target: set target.image in the workflow", service="ecs",
                             operation="create_post_paid_servers")
        volume_type = props.get("volume_type") or "SSD"
        disks = props["disks"]
        request = ServerRequest(
            name=props["name"], image_id=image, flavor=props["flavor"], vpc_id=vpc.id, subnet_id=subnet.id,
            root_volume=VolumeRequest(int(disks[0]["size_gb"]), volume_type, key_id),
            data_volumes=tuple(VolumeRequest(int(d["size_gb"]), volume_type, key_id) for d in disks[1:]),
            security_group_ids=(group.id,), ip_address=props.get("fixed_ip"),
            eip_bandwidth_mbps=EIP_BANDWIDTH_MBPS if props.get("eip") else None,
            availability_zone=props.get("availability_zone"), tags=dict(props.get("tags") or {}),
            enterprise_project_id=None if props.get("enterprise_project") in (None, "default")
            else props["enterprise_project"],
        )
        incarnation = str(props.get("incarnation") or "")
        for retry in range(TOKEN_RETRIES + 1):
            token = client_token(props["stack"], props["address"], int(props.get("generation") or 0),
                                 incarnation + (f"~{retry}" if retry else ""))
            server_id = cloud.ecs.create_server(request, token)
            try:
                server = cloud.ecs.show_server(server_id)
                break
            except CloudNotFoundError:
                # the token answered a server deleted since (an earlier server at this address, e.g. under
                # Pulumi, which keeps no incarnation): the next token of a fixed sequence, so a replay finds it
                if retry == TOKEN_RETRIES:
                    raise
        ids = {"vpc_id": vpc.id, "subnet_id": subnet.id, "security_group_id": group.id}
        return CreateResult(server_id, _outputs(props, server, key_id, ids))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        cloud = cloud_for(props["cloud"])
        server = cloud.ecs.show_server(id_)
        ids = {k: props.get(k) for k in ("vpc_id", "subnet_id", "security_group_id")}
        return ReadResult(id_, _outputs(props, server, props.get("kms_key_id"), ids), props)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        """In place: the flavor (an ECS resize: ResizeServer, mode withStopServer), tags (added, changed, and
        those the spec no longer has removed) and settings that only steps read (start_after_migration). If the
        resize fails, nothing else changed; if a tag call fails, the flavor may already be the new one."""
        cloud = cloud_for(news["cloud"])
        if news.get("flavor") and olds.get("flavor") != news.get("flavor"):
            cloud.ecs.resize(id_, news["flavor"])
        old_tags, new_tags = dict(olds.get("tags") or {}), dict(news.get("tags") or {})
        changed = {k: v for k, v in new_tags.items() if old_tags.get(k) != v}
        if changed:
            cloud.ecs.add_tags(id_, changed)
        gone = {k: v for k, v in old_tags.items() if k not in new_tags}
        if gone:
            cloud.ecs.delete_tags(id_, gone)
        server = cloud.ecs.show_server(id_)
        ids = {k: olds.get(k) for k in ("vpc_id", "subnet_id", "security_group_id")}
        return UpdateResult(_outputs(news, server, olds.get("kms_key_id"), ids))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete the server, its volumes and its EIP. If it fails, the server is assumed to still exist."""
        cloud = cloud_for(props["cloud"])
        try:
            cloud.ecs.delete_server(id_, delete_volumes=True)
        except CloudNotFoundError:
            return


def client_token(stack: str, address: str, generation: int = 0, incarnation: str = "") -> str:
    """The idempotency token of a create (ECS X-Client-Token): the same stack, address, generation and
    incarnation give the same token, so a create replayed after a crash answers the server the first attempt
    created; a new incarnation (a server created again after its record was deleted) gets a new token."""
    seed = f"{stack}/{address}#{generation}" + (f"@{incarnation}" if incarnation else "")
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"mgc-iac-{digest[:40]}"
