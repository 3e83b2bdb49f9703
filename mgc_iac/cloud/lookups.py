"""Lookups by name (VPC, subnet, security group, KMS key, the lab's settings), kept for one apply.

The engine's runner opens a `lookup_scope` around each step with one cache per apply, so the servers of a
workflow look up their VPC, subnet, security group and KMS key once instead of once each. Outside a scope
(e.g. under Pulumi's provider host) every lookup is live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from mgc_iac.cloud.endpoint import config_key

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
