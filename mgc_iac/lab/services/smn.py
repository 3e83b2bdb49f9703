"""SMN v2 in the lab: topics and publish; published messages are kept so `mgc-iac lab messages` shows them."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mgc_iac.lab.context import bad_request, body_json, check_project, lab_of, new_id, not_found, now_iso, reply

routes = web.RouteTableDef()
P = "/v2/{project_id}/notifications/topics"


def _topic(request: web.Request) -> dict[str, Any]:
    # aiohttp hands match_info already percent-decoded: the URN arrives as urn:smn:region:project:name
    urn = request.match_info["topic_urn"]
    topic = lab_of(request).store.get("smn_topic", urn)
    if topic is None:
        raise not_found("SMN.00010008", f"topic {urn}")
    return topic


def _view(topic: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in topic.items() if k != "id"}


@routes.get(P, name="smn.list_topics")
async def list_topics(request: web.Request) -> web.Response:
    check_project(request)
    topics = [_view(t) for t in lab_of(request).store.list("smn_topic")]
    if request.query.get("name"):
        topics = [t for t in topics if t["name"] == request.query["name"]]
    return reply({"request_id": new_id().replace("-", ""), "topic_count": len(topics), "topics": topics})


@routes.get(P + "/{topic_urn}", name="smn.list_topic_details")
async def show_topic(request: web.Request) -> web.Response:
    check_project(request)
    return reply({**_view(_topic(request)), "request_id": new_id().replace("-", "")})


@routes.post(P + "/{topic_urn}/publish", name="smn.publish_message")
async def publish(request: web.Request) -> web.Response:
    check_project(request)
    lab = lab_of(request)
    topic = _topic(request)
    body = await body_json(request)
    subject, message = body.get("subject", ""), body.get("message")
    if not isinstance(message, str) or not message:
        raise bad_request("SMN.00010002", "message is required")
    if len(subject.encode()) > 512:
        raise bad_request("SMN.00010002", "subject is longer than 512 bytes")
    if len(message.encode()) > 256 * 1024:
        raise bad_request("SMN.00010002", "message is longer than 256 KB")
    message_id = new_id().replace("-", "")
    lab.store.add_message({"message_id": message_id, "topic_urn": topic["topic_urn"], "topic": topic["name"],
                           "subject": subject, "message": message, "time": now_iso(lab.clock())})
    return reply({"request_id": new_id().replace("-", ""), "message_id": message_id})
