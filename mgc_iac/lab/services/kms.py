"""KMS v2 in the lab: describe-key and list-keys over the seeded keys."""

from __future__ import annotations

from aiohttp import web

from mgc_iac.lab.context import bad_request, body_json, check_project, lab_of, not_found, reply

routes = web.RouteTableDef()
_FIELDS = ("key_id", "key_alias", "key_spec", "key_usage", "key_state", "domain_id", "default_key_flag", "origin")


@routes.post("/v1.0/{project_id}/kms/describe-key", name="kms.list_key_detail")
async def describe_key(request: web.Request) -> web.Response:
    check_project(request)
    body = await body_json(request)
    key_id = body.get("key_id")
    if not key_id:
        raise bad_request("KMS.0201", "key_id is required")
    key = lab_of(request).store.get("kms_key", key_id)
    if key is None:
        raise not_found("KMS.0207", f"key {key_id}")
    return reply({"key_info": {f: key[f] for f in _FIELDS}})


@routes.post("/v1.0/{project_id}/kms/list-keys", name="kms.list_keys")
async def list_keys(request: web.Request) -> web.Response:
    check_project(request)
    body = await body_json(request)
    keys = lab_of(request).store.list("kms_key")
    if body.get("key_state"):
        keys = [k for k in keys if k["key_state"] == str(body["key_state"])]
    details = [{f: k[f] for f in _FIELDS} for k in keys]
    return reply({"keys": [k["key_id"] for k in details], "key_details": details, "next_marker": "",
                  "truncated": "false", "total": len(details)})
