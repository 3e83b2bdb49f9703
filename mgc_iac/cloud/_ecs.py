"""ECS: create servers idempotently (X-Client-Token) and wait for the job; show, find, start, stop, tag, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mgc_iac.cloud._base import ServiceClient
from mgc_iac.cloud._types import AttachedVolume, Job, Server, ServerRequest
from mgc_iac.errors import CloudError


def _server(s: Any) -> Server:
    """A ServerDetail model: addresses dict(str, list[ServerAddress]), tags list["key=value"]."""
    addresses = [a for addrs in (s.addresses or {}).values() for a in addrs]
    tags: dict[str, str] = {}
    for tag in s.tags or []:
        key, _, value = tag.partition("=")
        tags[key] = value
    attached = tuple(AttachedVolume(v.id, str(v.boot_index if v.boot_index is not None else ""), v.device or "")
                     for v in s.os_extended_volumesvolumes_attached or [])
    return Server(
        id=s.id, name=s.name or "", status=s.status or "", volumes=attached,
        private_ips=tuple(a.addr for a in addresses if a.os_ext_ip_stype != "floating"),
        public_ips=tuple(a.addr for a in addresses if a.os_ext_ip_stype == "floating"),
        tags=tags, volume_ids=tuple(v.id for v in attached),
        security_group_ids=tuple(g.id or "" for g in s.security_groups or []),
        flavor=s.flavor.id if s.flavor else "", enterprise_project_id=s.enterprise_project_id or "",
    )


class EcsClient(ServiceClient):
    service = "ecs"

    def _client_class(self) -> Any:
        from huaweicloudsdkecs.v2 import EcsClient as Sdk

        return Sdk

    def submit_server(self, request: ServerRequest, client_token: str) -> Job:
        """POST the create; the same client_token always answers the same job (safe to replay)."""
        from huaweicloudsdkecs.v2 import CreatePostPaidServersRequest

        body = self.body("CreatePostPaidServersRequestBody", request.to_body())
        sdk_request = CreatePostPaidServersRequest(x_client_token=client_token, body=body)
        answer = self.call("create_post_paid_servers", sdk_request)
        ids = answer.server_ids or []
        return Job(id=answer.job_id, status="RUNNING", server_id=ids[0] if ids else None)

    def show_job(self, job_id: str) -> Job:
        from huaweicloudsdkecs.v2 import ShowJobRequest

        answer = self.call("show_job", ShowJobRequest(job_id=job_id))
        entities = answer.entities                                  # JobEntities
        server_id = (entities.server_id if entities else None) or next(
            (s.entities.server_id for s in (entities.sub_jobs if entities else None) or [] if s.entities), None)
        return Job(id=job_id, status=answer.status or "", server_id=server_id, fail_reason=answer.fail_reason or "")

    def wait_job(self, job_id: str) -> Job:
        """Poll the job until SUCCESS (returned) or FAIL (raised) within settings.job_timeout; a poll that fails
        transiently (429, 5xx, no answer) is waited out (mgc_iac.cloud.wait)."""
        from mgc_iac.cloud.wait import WaitPolicy, single_attempt, wait_until

        def finished(job: Job) -> bool:
            if job.status == "FAIL":
                raise CloudError(f"job {job_id} failed: {job.fail_reason}", service="ecs", operation="show_job")
            return job.status == "SUCCESS"

        once = single_attempt(self)
        policy = WaitPolicy(self._settings.job_timeout, self._settings.job_poll_interval)
        return wait_until(lambda: once.show_job(job_id), finished, policy, what=f"ECS job {job_id}",
                          sleep=self._sleep, service="ecs")

    def create_server(self, request: ServerRequest, client_token: str) -> str:
        """Create one server and wait for its job; returns the server id. Replaying with the same token after
        a crash finds the server the first call created instead of creating a second one."""
        job = self.submit_server(request, client_token)
        done = self.wait_job(job.id)
        server_id = done.server_id or job.server_id
        if not server_id:
            raise CloudError(f"job {job.id} finished without a server id", service="ecs", operation="show_job")
        return server_id

    def show_server(self, server_id: str) -> Server:
        from huaweicloudsdkecs.v2 import ShowServerRequest

        return _server(self.call("show_server", ShowServerRequest(server_id=server_id)).server)

    def find_servers(self, name: str | None = None, tags: Mapping[str, str] | None = None) -> list[Server]:
        """Servers whose name is exactly `name` (ECS itself matches loosely) and that carry all `tags`."""
        from huaweicloudsdkecs.v2 import ListServersDetailsRequest

        tag_query = ",".join(f"{k}={v}" for k, v in sorted((tags or {}).items())) or None
        found: list[Server] = []
        offset = 1
        while True:
            answer = self.call("list_servers_details",
                            ListServersDetailsRequest(name=name, tags=tag_query, limit=100, offset=offset))
            page = [_server(s) for s in answer.servers or []]
            found += page
            if len(page) < 100:
                break
            offset += 1
        return [s for s in found if (name is None or s.name == name)
                and all(s.tags.get(k) == v for k, v in (tags or {}).items())]

    def start(self, server_id: str, wait: bool = True) -> None:
        from huaweicloudsdkecs.v2 import BatchStartServersRequest

        body = self.body("BatchStartServersRequestBody", {"os-start": {"servers": [{"id": server_id}]}})
        answer = self.call("batch_start_servers", BatchStartServersRequest(body=body))
        if wait:
            self.wait_job(answer.job_id)

    def stop(self, server_id: str, wait: bool = True, hard: bool = False) -> None:
        from huaweicloudsdkecs.v2 import BatchStopServersRequest

        body = self.body("BatchStopServersRequestBody",
                         {"os-stop": {"type": "HARD" if hard else "SOFT", "servers": [{"id": server_id}]}})
        answer = self.call("batch_stop_servers", BatchStopServersRequest(body=body))
        if wait:
            self.wait_job(answer.job_id)

    def add_tags(self, server_id: str, tags: Mapping[str, str]) -> None:
        from huaweicloudsdkecs.v2 import BatchCreateServerTagsRequest

        body = self.body("BatchCreateServerTagsRequestBody",
                         {"action": "create", "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())]})
        self.call("batch_create_server_tags", BatchCreateServerTagsRequest(server_id=server_id, body=body))

    def delete_server(self, server_id: str, delete_volumes: bool = True, wait: bool = True) -> None:
        from huaweicloudsdkecs.v2 import DeleteServersRequest

        body = self.body("DeleteServersRequestBody",
                         {"servers": [{"id": server_id}], "delete_publicip": True, "delete_volume": delete_volumes})
        answer = self.call("delete_servers", DeleteServersRequest(body=body))
        if wait:
            self.wait_job(answer.job_id)

    def delete_tags(self, server_id: str, tags: Mapping[str, str]) -> None:
        """Remove tags (POST .../cloudservers/{server_id}/tags/action, action delete: BatchDeleteServerTags)."""
        from huaweicloudsdkecs.v2 import BatchDeleteServerTagsRequest

        body = self.body("BatchDeleteServerTagsRequestBody",
                         {"action": "delete", "tags": [{"key": k, "value": v} for k, v in sorted(tags.items())]})
        self.call("batch_delete_server_tags", BatchDeleteServerTagsRequest(server_id=server_id, body=body))

    def resize(self, server_id: str, flavor: str, wait: bool = True) -> None:
        """Change the flavor in place (POST /v1.1/{project_id}/cloudservers/{server_id}/resize: ResizeServer);
        mode withStopServer lets ECS stop a running server, resize it and start it again."""
        from huaweicloudsdkecs.v2 import ResizeServerRequest

        body = self.body("ResizeServerRequestBody", {"resize": {"flavorRef": flavor, "mode": "withStopServer"}})
        answer = self.call("resize_server", ResizeServerRequest(server_id=server_id, body=body))
        if wait and answer.job_id:
            self.wait_job(answer.job_id)
