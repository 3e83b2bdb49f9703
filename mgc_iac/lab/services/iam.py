"""IAM v3 in the lab: the account id and its agencies, served from the seed (`cloud.agencies`).

What mgc-iac asks IAM (mgc_iac.cloud._iam): whether the EVSAccessKMS agency exists and holds a role in the
project. EVS needs that agency to use KMS for encrypted volumes the first time in a project (Huawei's Terraform
provider, docs/resources/cce_node.md: "the agency EVSAccessKMS ... must be created"); without it the ECS job of
an encrypted server fails later (mgc_iac/lab/services/ecs.py). Paths and shapes: the SDK 3.1.219 IamClient
(KeystoneListAuthDomains, ListAgencies, ListProjectPermissionsForAgency, ListAllProjectsPermissionsForAgency).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mgc_iac.lab.context import LabContext, LabError, lab_of, reply

routes = web.RouteTableDef()
_AGENCY = ("id", "name", "domain_id", "trust_domain_id", "trust_domain_name", "duration", "description",
           "create_time")


def _role(name: str) -> dict[str, Any]:
    return {"id": name.lower().replace(" ", "_"), "name": name.lower().replace(" ", "_"), "display_name": name,
            "type": "XA", "catalog": "KMS", "flag": "fine_grained", "description": name, "domain_id": ""}


def _agency(lab: LabContext, domain_id: str, agency_id: str) -> dict[str, Any]:
    agency = lab.store.get("iam_agency", agency_id)
    if agency is None or agency["domain_id"] != domain_id:
        raise LabError(404, "IAM.0004", f"agency {agency_id} does not exist")
    return agency


@routes.get("/v3/auth/domains", name="iam.keystone_list_auth_domains")
async def auth_domains(request: web.Request) -> web.Response:
    lab = lab_of(request)
    return reply({"domains": [{"id": lab.domain_id, "name": f"lab-{lab.region}", "enabled": True, "description": "",
                               "links": {"self": f"/v3/domains/{lab.domain_id}"}}],
                  "links": {"self": "/v3/auth/domains"}})


@routes.get("/v3.0/OS-AGENCY/agencies", name="iam.list_agencies")
async def list_agencies(request: web.Request) -> web.Response:
    lab = lab_of(request)
    q = request.query
    if not q.get("domain_id"):
        raise LabError(400, "IAM.0007", "domain_id is required")
    agencies = [a for a in lab.store.list("iam_agency") if a["domain_id"] == q["domain_id"]
                and (not q.get("name") or a["name"] == q["name"])]
    return reply({"agencies": [{k: a[k] for k in _AGENCY} for a in agencies]})


@routes.get("/v3.0/OS-AGENCY/projects/{project_id}/agencies/{agency_id}/roles",
            name="iam.list_project_permissions_for_agency")
async def project_roles(request: web.Request) -> web.Response:
    lab = lab_of(request)
    agency = _agency(lab, lab.domain_id, request.match_info["agency_id"])
    granted = request.match_info["project_id"] in agency["projects"]
    return reply({"roles": [_role(r) for r in agency["roles"]] if granted else []})


@routes.get("/v3.0/OS-INHERIT/domains/{domain_id}/agencies/{agency_id}/roles/inherited_to_projects",
            name="iam.list_all_projects_permissions_for_agency")
async def inherited_roles(request: web.Request) -> web.Response:
    lab = lab_of(request)
    agency = _agency(lab, request.match_info["domain_id"], request.match_info["agency_id"])
    roles = [{"id": _role(r)["id"], "name": _role(r)["name"], "links": {"self": request.path}}
             for r in agency["roles"]] if agency["inherited"] else []
    return reply({"roles": roles, "links": {"self": request.path}})
