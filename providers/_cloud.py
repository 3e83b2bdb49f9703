"""Build cloud clients at call time from the non-secret `cloud` input of a resource.

    {"provider": "lab", "region": "cn-north-4", "lab_dir": "/path/to/lab/state", "url": "http://127.0.0.1:PORT"}
    {"provider": "huaweicloud", "region": "cn-north-4"}

Credentials never travel in inputs or outputs: the lab's come from its state directory (credentials.json,
mode 0600), Huawei Cloud's from the environment (HUAWEICLOUD_SDK_AK/_SK/_PROJECT_ID). Providers hold no
client; this module keeps one Cloud per configuration in the process (HTTP connection reuse), never pickled.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from mgc_iac.cloud import Cloud, CloudSettings
from mgc_iac.errors import ConfigError

_cache: dict[tuple[str, ...], Cloud] = {}
_lock = threading.Lock()


def settings_for(config: dict[str, Any]) -> CloudSettings:
    provider = config.get("provider", "lab")
    if provider == "huaweicloud":
        return CloudSettings.from_env()
    if provider != "lab":
        raise ConfigError(f"unknown cloud provider {provider!r} (lab | huaweicloud)")
    from mgc_iac.lab import process

    lab_dir = Path(config.get("lab_dir") or process.default_state_dir())
    url = config.get("url")
    endpoint = process.endpoint_for(lab_dir, url) if url else process.ensure_lab(lab_dir)
    return CloudSettings.for_lab(endpoint)


def cloud_for(config: dict[str, Any]) -> Cloud:
    key = tuple(str(config.get(k) or "") for k in ("provider", "region", "lab_dir", "url"))
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
