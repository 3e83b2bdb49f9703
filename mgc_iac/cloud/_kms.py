"""KMS: describe a key by id or alias (EVS encryption needs an enabled AES_256 key)."""

from __future__ import annotations

import re
from typing import Any

from mgc_iac.cloud._base import ServiceClient
from mgc_iac.cloud._types import KeyInfo
from mgc_iac.errors import CloudNotFoundError

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def _key(k: Any) -> KeyInfo:
    """A KeyDetails model (list-keys items and describe-key's key_info)."""
    state = str(k.key_state or "")
    return KeyInfo(key_id=k.key_id, alias=k.key_alias or "", spec=k.key_spec or "", state=state, enabled=state == "2")


class KmsClient(ServiceClient):
    service = "kms"

    def _client_class(self) -> Any:
        from huaweicloudsdkkms.v2 import KmsClient as Sdk

        return Sdk

    def list_keys(self) -> list[KeyInfo]:
        from huaweicloudsdkkms.v2 import ListKeysRequest

        keys: list[KeyInfo] = []
        marker = ""
        while True:
            body: dict[str, Any] = {"limit": "1000"}
            if marker:
                body["marker"] = marker
            answer = self.call("list_keys", ListKeysRequest(body=self.body("ListKeysRequestBody", body)))
            keys += [_key(k) for k in answer.key_details or []]
            marker = answer.next_marker or ""
            if str(answer.truncated or "false").lower() != "true" or not marker:
                return keys

    def describe_key(self, key_id_or_alias: str) -> KeyInfo:
        """describe-key for an id; an alias is looked up in list-keys first."""
        from huaweicloudsdkkms.v2 import ListKeyDetailRequest

        key_id = key_id_or_alias
        if not _UUID.match(key_id_or_alias):
            match = next((k for k in self.list_keys() if k.alias == key_id_or_alias), None)
            if match is None:
                raise CloudNotFoundError(f"no KMS key with alias {key_id_or_alias!r}", service="kms",
                                         operation="list_keys")
            key_id = match.key_id
        answer = self.call("list_key_detail", ListKeyDetailRequest(body=self.body("OperateKeyRequestBody",
                                                                                  {"key_id": key_id})))
        return _key(answer.key_info)
