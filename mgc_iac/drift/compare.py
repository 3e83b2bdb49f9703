"""Compare recorded resources with what the cloud reports now: a pure function, one Drift per attribute.

What is compared, per kind (the attributes a person can change in the console behind mgc-iac's back):
- target server: exists, status (stopped), flavor, tags, its disks (the attached volume ids: an encrypted disk
  can only be swapped, never re-keyed, so a changed id is how a disk or its encryption changes), the EIP;
- migration task: exists, the source it belongs to, stopped in the console (ABORT);
- notification topic: exists.
Whether a drift is repaired or only reported is the planner's decision (plan/planner.py); `effect` here is
only the default for attributes that are never repaired.
"""

from __future__ import annotations

from typing import Any

from mgc_iac.drift.live import LiveResources
from mgc_iac.graph import MIGRATION_TASK, NOTIFICATION, TARGET_SERVER
from mgc_iac.plan import Drift
from mgc_iac.state import ResourceRecord, Snapshot

# TMS: tag keys starting with "_sys_" are system tags that the cloud sets itself, not the user
SYSTEM_TAG_PREFIXES = ("_sys_", "__")
STOPPED = "SHUTOFF"
TASK_STOPPED = "ABORT"


def find_drift(snapshot: Snapshot, live: LiveResources) -> tuple[Drift, ...]:
    """Every attribute of every recorded resource that the cloud reports differently, sorted by address."""
    found: list[Drift] = []
    for record in snapshot.resources.values():
        if record.kind == TARGET_SERVER and live.servers is not None:
            found += _target(record, live.servers)
        elif record.kind == MIGRATION_TASK and live.tasks is not None:
            found += _task(record, live.tasks)
        elif record.kind == NOTIFICATION and live.topics is not None:
            found += _topic(record, live.topics)
    return tuple(sorted(found, key=lambda d: (d.address, d.attribute)))


def _drift(record: ResourceRecord, attribute: str, recorded: Any, live: Any, effect: str = "repair") -> Drift:
    return Drift(record.address, record.kind, record.workflow, record.server, attribute, recorded, live, effect)


def user_tags(tags: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if not k.startswith(SYSTEM_TAG_PREFIXES)}


def _target(record: ResourceRecord, servers: dict[str, Any]) -> list[Drift]:
    server_id = record.outputs.get("id")
    if not server_id:
        return []
    server = servers.get(server_id)
    if server is None:
        return [_drift(record, "exists", True, False)]
    out: list[Drift] = []
    if server.status == STOPPED and record.outputs.get("status") != STOPPED:
        out.append(_drift(record, "status", record.outputs.get("status"), server.status, "report"))
    if server.flavor and server.flavor != record.attrs.get("flavor"):
        out.append(_drift(record, "flavor", record.attrs.get("flavor"), server.flavor))
    recorded_tags = dict(record.attrs.get("tags") or {})
    live_tags = user_tags(dict(server.tags))
    for key in sorted(set(recorded_tags) | set(live_tags)):
        if recorded_tags.get(key) != live_tags.get(key):
            out.append(_drift(record, f"tags.{key}", recorded_tags.get(key), live_tags.get(key)))
    recorded_volumes = sorted(record.outputs.get("volume_ids") or [])
    if recorded_volumes and sorted(server.volume_ids) != recorded_volumes:
        out.append(_drift(record, "disks", recorded_volumes, sorted(server.volume_ids)))
    if record.outputs.get("public_ip") and record.outputs["public_ip"] not in server.public_ips:
        out.append(_drift(record, "public_ip", record.outputs["public_ip"],
                          server.public_ips[0] if server.public_ips else None, "report"))
    return out


def _task(record: ResourceRecord, tasks: dict[str, Any]) -> list[Drift]:
    task_id = record.outputs.get("id")
    if not task_id or record.outputs.get("cleared"):
        return []  # MigrationTaskClear removed it on purpose
    task = tasks.get(task_id)
    if task is None:
        return [_drift(record, "exists", True, False)]
    out: list[Drift] = []
    recorded_source = record.outputs.get("source_id")
    if recorded_source and task.source_id and task.source_id != recorded_source:
        out.append(_drift(record, "source", recorded_source, task.source_id))
    if task.state == TASK_STOPPED and record.outputs.get("state") != TASK_STOPPED:
        out.append(_drift(record, "state", record.outputs.get("state"), task.state, "report"))
    return out


def _topic(record: ResourceRecord, topics: set[str]) -> list[Drift]:
    urn = record.attrs.get("topic_urn")
    if urn and urn not in topics:
        return [_drift(record, "exists", True, False, "report")]
    return []
