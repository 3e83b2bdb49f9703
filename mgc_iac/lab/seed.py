"""The seed file: the account the lab pretends to be (network, keys, topics, flavors, images, lab settings).

Only the top-level `cloud:` key is read; other keys (e.g. `hosts:` for lab SSH hosts) belong to other
readers. Ids are uuid5 of the region, kind and name, so a spec can name the same ids on every machine.

    cloud:
      region: cn-north-4
      project_id: <optional, 32 hex; default derived from the region>
      availability_zone: cn-north-4a
      vpcs:
        - name: vpc-shop
          cidr: 192.168.0.0/16
          subnets: [{name: subnet-shop, cidr: 192.168.1.0/24, gateway_ip: 192.168.1.1}]
      security_groups:
        - name: sg-shop
          rules: [{direction: ingress, protocol: tcp, ports: "22", remote_ip_prefix: 0.0.0.0/0,
                   action: allow, priority: 1}]
      kms_keys: [{alias: shop-disk-key, spec: AES_256, state: enabled}]   # spec AES_256|SM4|...; state enabled|...
      agencies: [{name: EVSAccessKMS}]   # IAM agencies (default: EVSAccessKMS in this project; [] = none)
      smn_topics: [{name: migration-events, display_name: Migration events}]
      flavors: [{id: s6.large.2, vcpus: 2, ram_mb: 8192}]
      images: [{name: CentOS 7.9 64bit}]
      domain_id: <optional, 32 hex: the account id BSS and IAM calls are signed with; default derived from the region>
      prices: {currency: CNY, vm: {...}, volume: {...}, bandwidth: {...}}   # BSS price list (mgc_iac.lab.prices)
      lab: {job_seconds: 2, instant_transfers: false, fault_seed: 0, faults: [{service: sms, ...}]}
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mgc_iac.errors import ConfigError

_NAMESPACE = uuid.UUID("6f1c2d8e-3b7a-4e59-9a41-7d2b5c0e8f13")
KEY_STATES = {"pending_activation": "1", "enabled": "2", "disabled": "3", "pending_deletion": "4",
              "pending_import": "5"}


def stable_id(region: str, kind: str, name: str) -> str:
    """The id a seeded resource gets: the same for the same region, kind and name, everywhere."""
    return str(uuid.uuid5(_NAMESPACE, f"{region}/{kind}/{name}"))


@dataclass
class Seed:
    region: str = "cn-north-4"
    project_id: str = ""
    availability_zone: str = ""
    vpcs: list[dict[str, Any]] = field(default_factory=list)
    security_groups: list[dict[str, Any]] = field(default_factory=list)
    kms_keys: list[dict[str, Any]] = field(default_factory=list)
    smn_topics: list[dict[str, Any]] = field(default_factory=list)
    flavors: list[dict[str, Any]] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    lab: dict[str, Any] = field(default_factory=dict)
    # temporary credentials (IAM STS) the lab also accepts: [{access_key, secret_key, security_token}]
    temporary_credentials: list[dict[str, str]] = field(default_factory=list)
    # the account's enterprise projects besides `default` (id "0"): [{name, id}]; the SMS-Agent's startup.sh lists
    # them (a lab source reads them from its network file: mgc_iac.lab.hosts)
    enterprise_projects: list[dict[str, str]] = field(default_factory=list)
    # sources whose SMS-Agent a user installed (Windows): the lab registers and answers for them (lab/preinstalled.py)
    preinstalled_agents: list[dict[str, Any]] = field(default_factory=list)
    domain_id: str = ""               # the account id (IAM KeystoneListAuthDomains, BSS and IAM sign with it)
    prices: dict[str, Any] = field(default_factory=dict)   # what BSS's price inquiry answers (mgc_iac.lab.prices)
    # IAM agencies of the account: [{name, projects: [project ids] (default this one), inherited: bool}]; None
    # (the key left out) = the EVSAccessKMS agency EVS encryption needs, granted in this project
    agencies: list[dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        self.project_id = self.project_id or uuid.uuid5(_NAMESPACE, f"project/{self.region}").hex
        self.domain_id = self.domain_id or uuid.uuid5(_NAMESPACE, f"domain/{self.region}").hex
        self.availability_zone = self.availability_zone or f"{self.region}a"
        if self.agencies is None:
            self.agencies = [{"name": "EVSAccessKMS"}]


def load_seed(path: Path | None) -> Seed:
    """Read the `cloud:` section of a seed file (a missing file or None gives an empty account)."""
    if path is None:
        return Seed()
    try:
        raw = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read lab seed {path}: {exc}") from exc
    cloud = raw.get("cloud") if isinstance(raw, dict) else None
    if not isinstance(cloud, dict):
        raise ConfigError(f"lab seed {path} has no `cloud:` mapping at the top level")
    known = set(Seed.__dataclass_fields__)
    unknown = set(cloud) - known
    if unknown:
        raise ConfigError(f"lab seed {path}: unknown keys under cloud: {', '.join(sorted(unknown))}")
    lab = cloud.get("lab") or {}
    if isinstance(lab, dict) and "rate_limit" in lab:
        from mgc_iac.lab.gateway import check_rate_limit

        try:
            check_rate_limit(lab["rate_limit"])
        except ValueError as exc:
            raise ConfigError(f"lab seed {path}: cloud.lab.{exc}") from None
    return Seed(**{k: v for k, v in cloud.items() if v is not None})


def seed_documents(seed: Seed) -> list[tuple[str, dict[str, Any]]]:
    """The (kind, document) pairs the lab stores for a seed, in the shapes its services answer with."""
    sid = lambda kind, name: stable_id(seed.region, kind, name)  # noqa: E731 - short local helper
    docs: list[tuple[str, dict[str, Any]]] = []
    for vpc in seed.vpcs:
        vpc_id = vpc.get("id") or sid("vpc", vpc["name"])
        ipaddress.ip_network(vpc["cidr"])
        docs.append(("vpc", {"id": vpc_id, "name": vpc["name"], "cidr": vpc["cidr"], "status": "ACTIVE",
                             "description": vpc.get("description", ""), "enterprise_project_id": "0"}))
        for sub in vpc.get("subnets", []):
            net = ipaddress.ip_network(sub["cidr"])
            docs.append(("subnet", {
                "id": sub.get("id") or sid("subnet", sub["name"]), "name": sub["name"], "cidr": sub["cidr"],
                "gateway_ip": sub.get("gateway_ip") or str(next(net.hosts())), "vpc_id": vpc_id,
                "status": "ACTIVE", "availability_zone": seed.availability_zone,
                "neutron_subnet_id": sid("neutron-subnet", sub["name"]),
            }))
    for group in seed.security_groups:
        group_id = group.get("id") or sid("security_group", group["name"])
        docs.append(("security_group", {"id": group_id, "name": group["name"],
                                        "description": group.get("description", ""),
                                        "project_id": seed.project_id, "enterprise_project_id": "0"}))
        rules = list(group.get("rules", [])) + [{"direction": "egress", "protocol": "", "action": "allow",
                                                  "priority": 100, "remote_ip_prefix": "0.0.0.0/0"}]
        for n, rule in enumerate(rules):
            docs.append(("security_group_rule", {
                "id": sid("security_group_rule", f"{group['name']}/{n}"), "security_group_id": group_id,
                "direction": rule.get("direction", "ingress"), "protocol": rule.get("protocol", "tcp") or "",
                "multiport": str(rule.get("ports", "")), "action": rule.get("action", "allow"),
                "priority": int(rule.get("priority", 1)), "ethertype": "IPv4",
                "remote_ip_prefix": rule.get("remote_ip_prefix", "0.0.0.0/0"), "enabled": True,
                "description": rule.get("description", ""),
            }))
    for key in seed.kms_keys:
        state = str(key.get("state", "enabled"))
        docs.append(("kms_key", {
            "id": key.get("id") or sid("kms_key", key["alias"]), "name": key["alias"], "key_alias": key["alias"],
            "key_spec": key.get("spec", "AES_256"), "key_usage": key.get("usage", "ENCRYPT_DECRYPT"),
            "key_state": KEY_STATES.get(state, state), "domain_id": seed.project_id,
            "default_key_flag": "1" if key["alias"].endswith("/default") else "0", "origin": "kms",
        }))
        docs[-1][1]["key_id"] = docs[-1][1]["id"]
    for agency in seed.agencies or []:
        # an agency EVS uses (EVSAccessKMS) trusts the EVS service (op_svc_evs) and holds KMS Administrator
        docs.append(("iam_agency", {
            "id": agency.get("id") or sid("iam_agency", agency["name"]).replace("-", ""), "name": agency["name"],
            "domain_id": seed.domain_id, "trust_domain_id": "", "trust_domain_name": agency.get("trust", "op_svc_evs"),
            "duration": "FOREVER", "description": agency.get("description", ""), "create_time": "2026-01-01T00:00:00Z",
            "projects": list(agency.get("projects") or ([] if agency.get("inherited") else [seed.project_id])),
            "inherited": bool(agency.get("inherited", False)),
            "roles": list(agency.get("roles") or ["KMS Administrator"]),
        }))
    for topic in seed.smn_topics:
        urn = f"urn:smn:{seed.region}:{seed.project_id}:{topic['name']}"
        docs.append(("smn_topic", {"id": urn, "topic_urn": urn, "name": topic["name"],
                                   "display_name": topic.get("display_name", ""), "push_policy": 0,
                                   "enterprise_project_id": "0", "topic_id": sid("smn_topic", topic["name"])}))
    for flavor in seed.flavors:
        docs.append(("flavor", {"id": flavor["id"], "name": flavor.get("name", flavor["id"]),
                                "vcpus": str(flavor.get("vcpus", 2)), "ram": int(flavor.get("ram_mb", 4096))}))
    for image in seed.images:
        docs.append(("image", {"id": image.get("id") or sid("image", image["name"]), "name": image["name"],
                               "os_type": image.get("os_type", "Linux")}))
    return docs
