"""IAM: whether an agency exists and holds a role in a project (EVS needs the EVSAccessKMS agency to use KMS).

IAM is called with account-scoped credentials (the SDK's GlobalCredentials: X-Domain-Id), so the account id is
needed: HUAWEICLOUD_SDK_DOMAIN_ID when set, else asked from IAM once (KeystoneListAuthDomains, which the SDK
itself uses for that). Why EVSAccessKMS: "to use KMS to encrypt EVS disks, the agency EVSAccessKMS must be
created the first time" (Huawei's Terraform provider, docs/resources/cce_node.md; the EVS console creates it
when a user first encrypts a disk); without it ECS accepts the create and its job fails later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mgc_iac.cloud._base import ServiceClient
from mgc_iac.errors import CloudAuthError


@dataclass(frozen=True)
class AgencyGrant:
    """An agency and the roles it holds in one project (or in every project: inherited)."""

    id: str
    name: str
    project_roles: tuple[str, ...] = ()
    inherited_roles: tuple[str, ...] = ()

    @property
    def granted(self) -> bool:
        return bool(self.project_roles or self.inherited_roles)


class IamClient(ServiceClient):
    service = "iam"

    def _client_class(self) -> Any:
        from huaweicloudsdkiam.v3 import IamClient as Sdk

        return Sdk

    def _credentials(self) -> Any:
        from huaweicloudsdkcore.auth.credentials import GlobalCredentials

        s = self._settings
        self._global = GlobalCredentials(s.ak, s.sk, s.domain_id or None)   # the security token: ServiceClient.sdk
        return self._global

    def domain_id(self) -> str:
        """The account id of these credentials (asked from IAM once when the settings do not carry it)."""
        from huaweicloudsdkiam.v3 import KeystoneListAuthDomainsRequest

        self.sdk  # noqa: B018 - builds the client and its credentials (self._global)
        if self._global.domain_id:
            return str(self._global.domain_id)
        domains = self.call("keystone_list_auth_domains", KeystoneListAuthDomainsRequest()).domains or []
        if not domains:
            raise CloudAuthError("IAM lists no account for these credentials: set HUAWEICLOUD_SDK_DOMAIN_ID to your "
                                 "account id (My Credentials page of the console)", service="iam",
                                 operation="keystone_list_auth_domains")
        self._global.domain_id = domains[0].id       # the client signs every later call with it (X-Domain-Id)
        return str(domains[0].id)

    def agency(self, name: str, project_id: str) -> AgencyGrant | None:
        """The agency `name` of this account and its roles in `project_id` (None when there is no such agency)."""
        from huaweicloudsdkiam.v3 import (
            ListAgenciesRequest,
            ListAllProjectsPermissionsForAgencyRequest,
            ListProjectPermissionsForAgencyRequest,
        )

        domain = self.domain_id()
        found = [a for a in self.call("list_agencies", ListAgenciesRequest(domain_id=domain, name=name)).agencies or []
                 if a.name == name]
        if not found:
            return None
        agency_id = found[0].id
        project = self.call("list_project_permissions_for_agency",
                            ListProjectPermissionsForAgencyRequest(project_id=project_id, agency_id=agency_id))
        inherited = self.call("list_all_projects_permissions_for_agency",
                              ListAllProjectsPermissionsForAgencyRequest(domain_id=domain, agency_id=agency_id))
        return AgencyGrant(agency_id, name, tuple(r.display_name or r.name or "" for r in project.roles or []),
                           tuple(r.name or "" for r in inherited.roles or []))
