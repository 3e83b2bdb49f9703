"""Read the live side of a stack's recorded resources in a few paginated list calls, not one call each.

ECS ListServersDetails (GET /v1/{project_id}/cloudservers/detail, paginated by page offset), SMS ListTasks
(GET /v3/tasks, offset/limit) and SMN ListTopics: three lists whatever the number of servers. Each is read
only when the stack records a resource of that kind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mgc_iac.graph import MIGRATION_TASK, NOTIFICATION, TARGET_SERVER
from mgc_iac.state import Snapshot


@dataclass
class LiveResources:
    """What the cloud holds now, by id (servers, tasks) or URN (topics); None: that kind was not read."""

    servers: dict[str, Any] | None = None  # id -> mgc_iac.cloud.Server
    tasks: dict[str, Any] | None = None  # id -> mgc_iac.cloud.Task
    topics: set[str] | None = None  # topic URNs
    calls: dict[str, int] = field(default_factory=dict)  # list calls made, for the bench and the tests


def read_live(snapshot: Snapshot, cloud: Any) -> LiveResources:  # cloud: mgc_iac.cloud.Cloud
    """The live servers, tasks and topics of the account, read only for the kinds `snapshot` records."""
    kinds = {r.kind for r in snapshot.resources.values() if r.outputs.get("id") or r.kind == NOTIFICATION}
    live = LiveResources()
    if TARGET_SERVER in kinds:
        live.servers = {s.id: s for s in cloud.ecs.find_servers()}
    if MIGRATION_TASK in kinds:
        live.tasks = {t.id: t for t in cloud.sms.list_tasks()}
    if NOTIFICATION in kinds:
        live.topics = {t.urn for t in cloud.smn.list_topics()}
    return live
