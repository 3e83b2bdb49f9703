"""Lookups by name (VPC, subnet, security group, KMS key, the lab's settings), kept for one apply.

The engine's runner opens a `lookup_scope` around each step with one cache per apply, so the servers of a
workflow look up their VPC, subnet, security group and KMS key once instead of once each. Outside a scope
(e.g. under Pulumi's provider host) every lookup is live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from mgc_iac.cloud.endpoint import cloud_for, config_key

if TYPE_CHECKING:
    from mgc_iac.cloud._types import KeyInfo, SecurityGroup, Subnet, Vpc

_lookups: ContextVar[dict[tuple[str, ...], Any] | None] = ContextVar("mgc_iac_lookups", default=None)
T = TypeVar("T")


@contextmanager
def lookup_scope(cache: dict[tuple[str, ...], Any]) -> Iterator[None]:
    """Within it, `lookup` keeps what it finds in `cache`."""
    token = _lookups.set(cache)
    try:
        yield
    finally:
        _lookups.reset(token)


def lookup(config: dict[str, Any], kind: str, name: str, fetch: Callable[[], T]) -> T:
    """`fetch()`, or what it answered earlier for the same cloud, kind and name within the current scope."""
    cache = _lookups.get()
    if cache is None:
        return fetch()
    key = (*config_key(config), kind, name)
    if key not in cache:
        cache[key] = fetch()  # two threads may both fetch: same answer, last one kept
    return cache[key]


def target_network(config: dict[str, Any], vpc: str, subnet: str,
                   security_group: str) -> tuple[Vpc, Subnet, SecurityGroup]:
    """The target's VPC, subnet (in that VPC) and security group, found by name."""
    cloud = cloud_for(config)
    found_vpc = lookup(config, "vpc", vpc, lambda: cloud.vpc.find_vpc(vpc))
    found_subnet = lookup(config, "subnet", f"{found_vpc.id}/{subnet}",
                          lambda: cloud.vpc.find_subnet(subnet, found_vpc.id))
    group = lookup(config, "security_group", security_group, lambda: cloud.vpc.find_security_group(security_group))
    return found_vpc, found_subnet, group


def kms_key(config: dict[str, Any], ref: str) -> KeyInfo:
    """The KMS key a disk is encrypted with, by id or alias."""
    return lookup(config, "kms_key", ref, lambda: cloud_for(config).kms.describe_key(ref))


def lab_finishes_copies(config: dict[str, Any]) -> bool:
    """Whether the lab of `config` finishes copies by itself (its instant_transfers setting)."""
    from mgc_iac.cloud._lab import LabControl

    settings = lookup(config, "lab_settings", "", lambda: LabControl(cloud_for(config).settings).settings())
    return bool(settings.get("instant_transfers"))
