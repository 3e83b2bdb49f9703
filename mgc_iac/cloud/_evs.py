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

        return _volume(self.call("show_volume", ShowVolumeRequest(volume_id=volume_id))["volume"])

    def list_volumes(self) -> list[Volume]:
        """Every volume of the project, attached or not (ListVolumes, GET /v2/{project_id}/cloudvolumes/detail,
        paged by offset)."""
        from huaweicloudsdkevs.v2 import ListVolumesRequest

        found: list[Volume] = []
        while True:
            raw = self.call("list_volumes", ListVolumesRequest(limit=100, offset=len(found)))
            page = [_volume(v) for v in raw.get("volumes") or []]
            found += page
            if not page or len(found) >= int(raw.get("count") or 0):
                return found


def _volume(raw: dict[str, Any]) -> Volume:
    meta = raw.get("metadata") or {}
    encrypted = bool(raw.get("encrypted")) or meta.get("__system__encrypted") == "1"
    return Volume(id=raw["id"], name=raw.get("name", ""), size_gb=int(raw.get("size") or 0),
                  status=raw.get("status", ""), encrypted=encrypted,
                  kms_key_id=meta.get("__system__cmkid") if encrypted else None,
                  server_ids=tuple(a.get("server_id", "") for a in raw.get("attachments") or []),
                  bootable=str(raw.get("bootable", "")).lower() == "true")
