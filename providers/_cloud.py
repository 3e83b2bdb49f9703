"""Build cloud clients at call time from the non-secret `cloud` input of a resource (mgc_iac.cloud.endpoint).

Providers hold no client; this module keeps one Cloud per configuration in the process (HTTP connection
reuse), never pickled. Credentials never travel in inputs or outputs.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from mgc_iac.cloud import Cloud
from mgc_iac.cloud.endpoint import settings_for

_cache: dict[tuple[str, ...], Cloud] = {}
_lock = threading.Lock()
_lookups: ContextVar[dict[tuple[str, ...], Any] | None] = ContextVar("mgc_iac_lookups", default=None)
T = TypeVar("T")


def _key(config: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(config.get(k) or "") for k in ("provider", "region", "lab_dir", "url", "endpoints"))


def cloud_for(config: dict[str, Any]) -> Cloud:
    key = _key(config)
    with _lock:
        cloud = _cache.get(key)
    if cloud is None:
        cloud = Cloud(settings_for(config))
        with _lock:
            cloud = _cache.setdefault(key, cloud)
    return cloud


def client_token(stack: str, address: str, generation: int = 0, incarnation: str = "") -> str:
    """The idempotency token of a create (ECS X-Client-Token): the same stack, address, generation and
    incarnation give the same token, so a create replayed after a crash answers the server the first attempt
    created; a new incarnation (a server created again after its record was deleted) gets a new token."""
    seed = f"{stack}/{address}#{generation}" + (f"@{incarnation}" if incarnation else "")
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return f"mgc-iac-{digest[:40]}"


@contextmanager
def lookup_scope(cache: dict[tuple[str, ...], Any]) -> Iterator[None]:
    """Within it, `lookup` keeps what it finds in `cache`. The engine's runner opens one around each step with
    one cache per apply, so the servers of a workflow look up their VPC, subnet, security group and KMS key
    once instead of once each. Outside a scope (e.g. under Pulumi's provider host) every lookup is live."""
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
    key = (*_key(config), kind, name)
    if key not in cache:
        cache[key] = fetch()  # two threads may both fetch: same answer, last one kept
    return cache[key]
