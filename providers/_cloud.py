"""Build cloud clients at call time from the non-secret `cloud` input of a resource (mgc_iac.connect).

Providers hold no client; this module keeps one Cloud per configuration in the process (HTTP connection
reuse), never pickled. Credentials never travel in inputs or outputs.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from mgc_iac.cloud import Cloud
from mgc_iac.connect import settings_for

_cache: dict[tuple[str, ...], Cloud] = {}
_lock = threading.Lock()


def cloud_for(config: dict[str, Any]) -> Cloud:
    key = tuple(str(config.get(k) or "") for k in ("provider", "region", "lab_dir", "url", "endpoints"))
    with _lock:
        cloud = _cache.get(key)
    if cloud is None:
        cloud = Cloud(settings_for(config))
        with _lock:
            cloud = _cache.setdefault(key, cloud)
    return cloud


def client_token(stack: str, address: str, generation: int = 0) -> str:
    """The idempotency token of a create (ECS X-Client-Token): the same stack, address and generation give the
    same token, so a create replayed after a crash answers the server the first attempt created."""
    digest = hashlib.sha256(f"{stack}/{address}#{generation}".encode()).hexdigest()
    return f"mgc-iac-{digest[:40]}"
