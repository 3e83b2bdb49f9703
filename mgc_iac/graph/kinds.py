"""The resource kinds mgc-iac manages and which attribute changes force a replacement.

Shared by the graph (what is desired), the planner (update or replace) and the providers (Pulumi diff), so
the three never disagree about what can change in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TARGET_SERVER = "target_server"
MIGRATION_TASK = "migration_task"
NOTIFICATION = "notification"
# the EIP of a target on a public migration network: dynamic BGP (5_bgp), dedicated, billed by bandwidth (ECS
# CreateServers' bandwidth.chargemode unset: "未传该字段，表示按带宽计费", PostPaidServerEipBandwidth docstring)
EIP_BANDWIDTH_MBPS = 100

# attribute -> why changing it cannot happen in place
REPLACE_ON: dict[str, dict[str, str]] = {
    TARGET_SERVER: {
        "region": "a server cannot move to another region",
        "project": "a server cannot move to another project",
        "availability_zone": "a server cannot move to another availability zone",
        "vpc": "a server cannot move to another VPC",
        "subnet": "the primary NIC's subnet cannot change",
        "image": "the image is chosen at creation",
        "volume_type": "a disk's type is chosen at creation",
        "encryption": "the encryption attribute of a disk cannot be modified after the disk is created",
        "fixed_ip": "the retained private IP is set at creation",
    },
    MIGRATION_TASK: {
        "source_mac": "the task belongs to one source server",
        "os": "the migration type (file-level Linux, block-level Windows) is chosen at creation",
        "target": "the task migrates into one target server",
    },
    NOTIFICATION: {},
}


@dataclass(frozen=True)
class ReplaceReason:
    attribute: str
    reason: str


def replace_reasons(kind: str, before: dict[str, Any], after: dict[str, Any]) -> list[ReplaceReason]:
    """Why moving from `before` to `after` needs a new resource (empty: an in-place update will do)."""
    reasons = [ReplaceReason(attr, why) for attr, why in REPLACE_ON.get(kind, {}).items()
               if before.get(attr) != after.get(attr)]
    if kind == TARGET_SERVER:
        reasons.extend(_disk_reasons(before.get("disks") or [], after.get("disks") or []))
    return reasons


def _disk_reasons(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[ReplaceReason]:
    old = {d["device"]: d["size_gb"] for d in before}
    new = {d["device"]: d["size_gb"] for d in after}
    out = []
    for device, size in old.items():
        if device not in new:
            out.append(ReplaceReason("disks", f"disk {device} cannot be detached from a migrated target"))
        elif new[device] < size:
            out.append(ReplaceReason("disks", f"disk {device} cannot shrink from {size} GB to {new[device]} GB"))
    return out
