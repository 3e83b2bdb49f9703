"""VPC: find VPCs, subnets and security groups by name or id, and read a group's rules (v2 and v3 APIs)."""

from __future__ import annotations

import re
from typing import Any

from mgc_iac.cloud._base import ServiceClient
from mgc_iac.cloud._settings import CloudSettings
from mgc_iac.cloud._types import SecurityGroup, SecurityGroupRule, Subnet, Vpc
from mgc_iac.errors import CloudNotFoundError

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


def _vpc(raw: dict[str, Any]) -> Vpc:
    return Vpc(id=raw["id"], name=raw.get("name", ""), cidr=raw.get("cidr", ""), status=raw.get("status", ""))


def _subnet(raw: dict[str, Any]) -> Subnet:
    return Subnet(id=raw["id"], name=raw.get("name", ""), cidr=raw.get("cidr", ""),
                  gateway_ip=raw.get("gateway_ip", ""), vpc_id=raw.get("vpc_id", ""))


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

            return _vpc(self._v2.call("show_vpc", ShowVpcRequest(vpc_id=name_or_id))["vpc"])
        from huaweicloudsdkvpc.v3 import ListVpcsRequest

        vpcs = self.call("list_vpcs", ListVpcsRequest(name=[name_or_id])).get("vpcs") or []
        match = [v for v in vpcs if v.get("name") == name_or_id]
        if not match:
            raise self._missing(f"VPC {name_or_id!r}", "list_vpcs")
        return _vpc(match[0])

    def find_subnet(self, name_or_id: str, vpc_id: str | None = None) -> Subnet:
        if _UUID.match(name_or_id):
            from huaweicloudsdkvpc.v2 import ShowSubnetRequest

            return _subnet(self._v2.call("show_subnet", ShowSubnetRequest(subnet_id=name_or_id))["subnet"])
        from huaweicloudsdkvpc.v2 import ListSubnetsRequest

        subnets = self._v2.call("list_subnets", ListSubnetsRequest(vpc_id=vpc_id, limit=2000)).get("subnets") or []
        match = [s for s in subnets if s.get("name") == name_or_id]
        if not match:
            raise self._missing(f"subnet {name_or_id!r}" + (f" in VPC {vpc_id}" if vpc_id else ""), "list_subnets")
        return _subnet(match[0])

    def find_security_group(self, name_or_id: str) -> SecurityGroup:
        from huaweicloudsdkvpc.v3 import ListSecurityGroupsRequest

        key = "id" if _UUID.match(name_or_id) else "name"
        groups = self.call("list_security_groups",
                           ListSecurityGroupsRequest(**{key: [name_or_id]})).get("security_groups") or []
        match = [g for g in groups if g.get(key) == name_or_id]
        if not match:
            raise self._missing(f"security group {name_or_id!r}", "list_security_groups")
        return SecurityGroup(id=match[0]["id"], name=match[0].get("name", ""))

    def security_group_rules(self, group_id: str) -> list[SecurityGroupRule]:
        from huaweicloudsdkvpc.v3 import ListSecurityGroupRulesRequest

        raw = self.call("list_security_group_rules",
                        ListSecurityGroupRulesRequest(security_group_id=[group_id], limit=2000))
        return [SecurityGroupRule(id=r["id"], direction=r.get("direction", ""), protocol=r.get("protocol") or "",
                                  ports=r.get("multiport") or "", action=r.get("action", "allow"),
                                  priority=int(r.get("priority") or 1), remote_ip_prefix=r.get("remote_ip_prefix")
                                  or "")
                for r in raw.get("security_group_rules") or [] if r.get("enabled", True)]
