"""`plan --refresh`: gather the live facts some rules need, from the cloud and from the sources.

Cloud facts: the target VPCs, subnets and security group rules, the KMS keys and the SMN topics that the
spec names, and (when a workflow encrypts) whether the EVSAccessKMS agency exists in the project (IAM).
Source facts (rsync, available memory and CPU, MACs) come over SSH for sources with `ssh:`.
A missing resource is recorded as None so the rules can say "does not exist".
"""

from __future__ import annotations

from ipaddress import IPv4Network

from mgc_iac.errors import CloudNotFoundError
from mgc_iac.stack import (
    KeyFacts,
    LiveFacts,
    LoadedStack,
    NetworkFacts,
    SecurityGroupFacts,
    SourceLiveFacts,
    required_ingress,
    workflow_servers,
)


def gather_facts(loaded: LoadedStack, cloud, hosts=None, *, sources: bool = True) -> LiveFacts:
    """Everything the live rules read, gathered once per name (cloud: mgc_iac.cloud.Cloud; hosts: the
    workspace's MigrationHosts, how sources are reached); `sources=False` skips the SSH side."""
    stack = loaded.stack
    facts = LiveFacts()
    servers = workflow_servers(stack)
    for wf in stack.workflows:
        t = wf.target
        if t.vpc not in facts.vpcs:
            facts.vpcs[t.vpc] = _maybe(_network, cloud.vpc.find_vpc, t.vpc)
        vpc = facts.vpcs[t.vpc]
        if t.subnet not in facts.subnets:
            facts.subnets[t.subnet] = _maybe(_network, cloud.vpc.find_subnet, t.subnet, vpc.id if vpc else None)
        ports = required_ingress({s.os for s in servers[wf.name]} or {"linux"}, wf.migration_port)
        facts.security_groups[t.security_group] = _maybe(
            lambda group, ports=ports: _evaluate(cloud, group, ports), cloud.vpc.find_security_group, t.security_group)
        key = wf.encryption.key_id or wf.encryption.key_alias
        if wf.encryption.enabled and key and key not in facts.keys:
            facts.keys[key] = _maybe(_key, cloud.kms.describe_key, key)
        note = wf.advanced.notifications
        if note is not None and note.topic_urn not in facts.topics:
            facts.topics[note.topic_urn] = _maybe(bool, cloud.smn.show_topic, note.topic_urn) is not None
    if any(wf.encryption.enabled for wf in stack.workflows):
        facts.kms_agency, facts.kms_agency_note = _kms_agency(cloud)
    if sources:
        _source_facts(loaded, facts, hosts)
    return facts


def _kms_agency(cloud) -> tuple[bool | None, str]:
    """Whether EVS may use KMS in the cloud's project: the EVSAccessKMS agency with a role there (IAM)."""
    from mgc_iac.errors import CloudError

    try:
        grant = cloud.iam.agency("EVSAccessKMS", cloud.settings.project_id)
    except CloudError as exc:
        return None, f"IAM answered: {exc}"
    return (grant is not None and grant.granted), ""


def _source_facts(loaded: LoadedStack, facts: LiveFacts, hosts) -> None:
    """rsync, available memory and CPU of every source reachable over SSH (the others keep declared facts)."""
    from mgc_iac.operations._discover import discover_sources

    for item in discover_sources(loaded.canonical, hosts):
        if item.facts is not None:
            f = item.facts
            facts.sources[item.name] = SourceLiveFacts(
                rsync=f.rsync_present, available_memory_mb=int(f.memory_available_mb),
                available_cpus=round(max(f.cpu_count - f.load1, 0.0), 2), macs=tuple(f.macs))


def _maybe(convert, fetch, *args):
    """convert(fetch(*args)), or None when the cloud says the resource does not exist."""
    try:
        return convert(fetch(*args))
    except CloudNotFoundError:
        return None


def _network(item) -> NetworkFacts:
    return NetworkFacts(item.id, IPv4Network(item.cidr), getattr(item, "vpc_id", None))


def _key(info) -> KeyFacts:
    return KeyFacts(info.key_id, info.alias, info.spec, info.state)


def _evaluate(cloud, group, ports: list[int]) -> SecurityGroupFacts:
    """Evaluate the group's ingress rules the way the cloud does: the highest-priority matching rule wins."""
    rules = sorted((r for r in cloud.vpc.security_group_rules(group.id) if r.direction == "ingress"),
                   key=lambda r: (r.priority, r.action != "deny"))
    allowed = set()
    for port in ports:
        first = next((r for r in rules if r.covers(port)), None)
        if first is not None and first.action == "allow":
            allowed.add(port)
    return SecurityGroupFacts(group.id, frozenset(allowed))
