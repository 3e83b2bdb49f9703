"""SMN: topics and publishing a notification."""

from __future__ import annotations

from typing import Any

from mgc_iac.cloud._base import ServiceClient
from mgc_iac.cloud._types import Topic


def _topic(t: Any) -> Topic:
    """A ListTopicsItem or a ListTopicDetailsResponse (both declare topic_urn, name, display_name)."""
    return Topic(urn=t.topic_urn, name=t.name or "", display_name=t.display_name or "")


class SmnClient(ServiceClient):
    service = "smn"

    def _client_class(self) -> Any:
        from huaweicloudsdksmn.v2 import SmnClient as Sdk

        return Sdk

    def publish(self, topic_urn: str, subject: str, message: str) -> str:
        """Publish; returns the message id. Not replayed on a lost answer (it could be delivered twice)."""
        from huaweicloudsdksmn.v2 import PublishMessageRequest

        body = self.body("PublishMessageRequestBody", {"subject": subject, "message": message})
        request = PublishMessageRequest(topic_urn=topic_urn, body=body)
        return self.call("publish_message", request, idempotent=False).message_id

    def list_topics(self) -> list[Topic]:
        from huaweicloudsdksmn.v2 import ListTopicsRequest

        return [_topic(t) for t in self.call("list_topics", ListTopicsRequest(limit=100)).topics or []]

    def show_topic(self, topic_urn: str) -> Topic:
        from huaweicloudsdksmn.v2 import ListTopicDetailsRequest

        return _topic(self.call("list_topic_details", ListTopicDetailsRequest(topic_urn=topic_urn)))
