"""Live facts that some rules need: gathered by `plan --refresh` from the cloud and the sources.

The rules in stack/rules.py read these when present; offline they fall back to what the spec declares.
Filling them is the job of mgc_iac.operations._refresh (cloud clients and SSH); this module is only the data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network


@dataclass(frozen=True)
class NetworkFacts:
    """A VPC or subnet as the cloud reports it."""

    id: str
    cidr: IPv4Network
    vpc_id: str | None = None


@dataclass(frozen=True)
class SecurityGroupFacts:
    id: str
    ingress_tcp_ports: frozenset[int]  # ports an enabled allow rule opens (all ports expanded lazily)
    allows_all_tcp: bool = False

    def allows(self, port: int) -> bool:
        return self.allows_all_tcp or port in self.ingress_tcp_ports


@dataclass(frozen=True)
class KeyFacts:
    key_id: str
    alias: str
    spec: str  # AES_256, SM4, RSA_2048...
    state: str  # "2" enabled, "3" disabled...

    @property
    def enabled(self) -> bool:
        return self.state == "2"


@dataclass(frozen=True)
class SourceLiveFacts:
    rsync: bool | None = None
    available_memory_mb: int | None = None
    available_cpus: float | None = None
    macs: tuple[str, ...] = ()


@dataclass
class LiveFacts:
    """Everything `plan --refresh` learned, keyed by the names the spec uses."""

    vpcs: dict[str, NetworkFacts | None] = field(default_factory=dict)
    subnets: dict[str, NetworkFacts | None] = field(default_factory=dict)
    security_groups: dict[str, SecurityGroupFacts | None] = field(default_factory=dict)
    keys: dict[str, KeyFacts | None] = field(default_factory=dict)
    sources: dict[str, SourceLiveFacts | None] = field(default_factory=dict)
    topics: dict[str, bool] = field(default_factory=dict)
    # the EVSAccessKMS agency with a role in the project (IAM): True, False, or None when not checked / unknown
    kms_agency: bool | None = None
    kms_agency_note: str = ""                       # why it is unknown (e.g. IAM refused the credentials)
