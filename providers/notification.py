"""A workflow's notification target: an existing SMN topic (mgc-iac never creates or deletes topics).

create/read check that the topic exists; `publish` sends a workflow event (success, failure, all servers at
manual checkpoints) in the workflow's language.
"""

from __future__ import annotations

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

from mgc_iac.cloud import cloud_for
from mgc_iac.graph import NOTIFICATION
from mgc_iac.providers._diff import diff_attrs

META = ("stack", "address", "cloud")


class NotificationProvider(ResourceProvider):
    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [] if news.get("topic_urn") else [CheckFailure("topic_urn", "is required")]
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return diff_attrs(NOTIFICATION, olds, news, META)

    def create(self, props: dict[str, Any]) -> CreateResult:
        topic = cloud_for(props["cloud"]).smn.show_topic(props["topic_urn"])
        return CreateResult(f"{props['address']}", {**props, "topic_name": topic.name})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        topic = cloud_for(props["cloud"]).smn.show_topic(props["topic_urn"])
        return ReadResult(id_, {**props, "topic_name": topic.name}, props)

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        topic = cloud_for(news["cloud"]).smn.show_topic(news["topic_urn"])
        return UpdateResult({**news, "topic_name": topic.name})

    def delete(self, _id: str, _props: dict[str, Any]) -> None:
        """Nothing to delete: the topic is the user's."""


def publish(cloud_config: dict[str, Any], topic_urn: str, subject: str, message: str) -> str:
    """Publish one message; returns the SMN message id."""
    return cloud_for(cloud_config).smn.publish(topic_urn, subject[:512], message)
