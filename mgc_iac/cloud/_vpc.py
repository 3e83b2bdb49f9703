"""VPC: find VPCs, subnets and security groups by name or id, and read a group's rules (v2 and v3 APIs)."""

from __future__ import annotations

import re
from typing import Any

from mgc_iac.cloud._base import ServiceClient
from mgc_iac.cloud._settings import CloudSettings
from mgc_iac.cloud._types import SecurityGroup, SecurityGroupRule, Subnet, Vpc
from mgc_iac.errors import CloudNotFoundError

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def _vpc(v: Any) -> Vpc:
    """A v2 Vpc or a v3 Vpc model (both declare id, name, cidr, status)."""
    return Vpc(id=v.id, name=v.name or "", cidr=v.cidr or "", status=v.status or "")


def _subnet(s: Any) -> Subnet:
    return Subnet(id=s.id, name=s.name or "", cidr=s.cidr or "", gateway_ip=s.gateway_ip or "", vpc_id=s.vpc_id or "")


class _VpcV2(ServiceClient):
    service = "vpc"

    def _client_class(self) -> Any:
        from huaweicloudsdkvpc.v2 import VpcClient as Sdk

        return Sdk


class VpcClient(ServiceClient):
    """v3 for VPC lookup by name, security groups and rules; v2 for subnets and VPC by id."""

    service = "vpc"

    def __init__(self, settings: CloudSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self._v2 = _VpcV2(settings, **kwargs)

    def _client_class(self) -> Any:
        from huaweicloudsdkvpc.v3 import VpcClient as Sdk

        return Sdk

    def _missing(self, what: str, operation: str) -> CloudNotFoundError:
        return CloudNotFoundError(f"{what} not found", service="vpc", operation=operation)

    def find_vpc(self, name_or_id: str) -> Vpc:
        if _UUID.match(name_or_id):
            from huaweicloudsdkvpc.v2 import ShowVpcRequest

            return _vpc(self._v2.call("show_vpc", ShowVpcRequest(vpc_id=name_or_id)).vpc)
        from huaweicloudsdkvpc.v3 import ListVpcsRequest

        vpcs = self.call("list_vpcs", ListVpcsRequest(name=[name_or_id])).vpcs or []
        match = [v for v in vpcs if v.name == name_or_id]
        if not match:
            raise self._missing(f"VPC {name_or_id!r}", "list_vpcs")
        return _vpc(match[0])

    def find_subnet(self, name_or_id: str, vpc_id: str | None = None) -> Subnet:
        if _UUID.match(name_or_id):
            from huaweicloudsdkvpc.v2 import ShowSubnetRequest

            return _subnet(self._v2.call("show_subnet", ShowSubnetRequest(subnet_id=name_or_id)).subnet)
        from huaweicloudsdkvpc.v2 import ListSubnetsRequest

        subnets = self._v2.call("list_subnets", ListSubnetsRequest(vpc_id=vpc_id, limit=2000)).subnets or []
        match = [s for s in subnets if s.name == name_or_id]
        if not match:
            raise self._missing(f"subnet {name_or_id!r}" + (f" in VPC {vpc_id}" if vpc_id else ""), "list_subnets")
        return _subnet(match[0])

    def find_security_group(self, name_or_id: str) -> SecurityGroup:
        from huaweicloudsdkvpc.v3 import ListSecurityGroupsRequest

        key = "id" if _UUID.match(name_or_id) else "name"
        groups = self.call("list_security_groups",
                           ListSecurityGroupsRequest(**{key: [name_or_id]})).security_groups or []
        match = [g for g in groups if getattr(g, key) == name_or_id]     # key is "id" or "name", both declared
        if not match:
            raise self._missing(f"security group {name_or_id!r}", "list_security_groups")
        return SecurityGroup(id=match[0].id, name=match[0].name or "")

    def security_group_rules(self, group_id: str) -> list[SecurityGroupRule]:
        from huaweicloudsdkvpc.v3 import ListSecurityGroupRulesRequest

        answer = self.call("list_security_group_rules",
                           ListSecurityGroupRulesRequest(security_group_id=[group_id], limit=2000))
        return [SecurityGroupRule(id=r.id, direction=r.direction or "", protocol=r.protocol or "",
                                  ports=r.multiport or "", action=r.action or "allow", priority=int(r.priority or 1),
                                  remote_ip_prefix=r.remote_ip_prefix or "")
                for r in answer.security_group_rules or [] if r.enabled is not False]
