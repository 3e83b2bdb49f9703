"""EVS: read or list volumes, with their encryption key (encryption is fixed when the disk is created)."""

from __future__ import annotations

from typing import Any

from mgc_iac.cloud._base import ServiceClient
from mgc_iac.cloud._types import Volume


class EvsClient(ServiceClient):
    service = "evs"

    def _client_class(self) -> Any:
        from huaweicloudsdkevs.v2 import EvsClient as Sdk

        return Sdk

    def show_volume(self, volume_id: str) -> Volume:
        from huaweicloudsdkevs.v2 import ShowVolumeRequest

        return _volume(self.call("show_volume", ShowVolumeRequest(volume_id=volume_id)).volume)

    def list_volumes(self) -> list[Volume]:
        """Every volume of the project, attached or not (ListVolumes, GET /v2/{project_id}/cloudvolumes/detail,
        paged by offset)."""
        from huaweicloudsdkevs.v2 import ListVolumesRequest

        found: list[Volume] = []
        while True:
            answer = self.call("list_volumes", ListVolumesRequest(limit=100, offset=len(found)))
            page = [_volume(v) for v in answer.volumes or []]
            found += page
            if not page or len(found) >= int(answer.count or 0):
                return found


def _volume(v: Any) -> Volume:  # v: the SDK's VolumeDetail
    meta = v.metadata or {}                        # typed dict(str, object): EVS's documented metadata keys
    encrypted = bool(v.encrypted) or meta.get("__system__encrypted") == "1"
    return Volume(id=v.id, name=v.name or "", size_gb=int(v.size or 0), status=v.status or "",
                  encrypted=encrypted, kms_key_id=meta.get("__system__cmkid") if encrypted else None,
                  server_ids=tuple(a.server_id or "" for a in v.attachments or []),
                  bootable=str(v.bootable or "").lower() == "true")
