"""Which cloud a stack talks to: the embedded lab (found or started) or Huawei Cloud from the environment.

One code path: both give CloudSettings for the same SDK clients; only endpoints and credentials differ.
The `cloud config` is the non-secret description that travels in provider inputs:

    {"provider": "lab", "region": "cn-north-4", "lab_dir": "/path/to/lab/state", "url": "http://127.0.0.1:PORT"}
    {"provider": "huaweicloud", "region": "cn-north-4", "endpoints": {"sms": "https://..."}}

Credentials never travel in it: the lab's come from its state directory (credentials.json, mode 0600),
Huawei Cloud's from the environment (HUAWEICLOUD_SDK_AK/_SK/_PROJECT_ID).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from mgc_iac.errors import ConfigError

LAB_SEED = "lab-seed.yaml"


def cloud_config(spec: dict[str, Any], stack_dir: Path | None) -> dict[str, Any]:
    """The non-secret cloud description of a stack (canonical spec). A lab stack finds the running lab of
    $MGC_IAC_LAB_DIR (default ~/.mgc-iac/lab) or starts it, seeded from the stack's lab-seed.yaml."""
    cloud = spec.get("cloud") or {}
    provider = cloud.get("provider", "lab")
    config: dict[str, Any] = {"provider": provider, "region": cloud.get("region", "cn-north-4")}
    if cloud.get("endpoints"):
        config["endpoints"] = dict(sorted(cloud["endpoints"].items()))
    if cloud.get("max_requests_per_second"):
        config["max_requests_per_second"] = float(cloud["max_requests_per_second"])
    if provider != "lab":
        return config
    from mgc_iac.lab import default_state_dir, ensure_lab

    lab_dir = default_state_dir()
    seed = stack_dir / LAB_SEED if stack_dir is not None and (stack_dir / LAB_SEED).is_file() else None
    endpoint = ensure_lab(lab_dir, seed)
    return {**config, "region": endpoint.region, "lab_dir": str(lab_dir), "url": endpoint.url}


def settings_for(config: dict[str, Any]):  # -> mgc_iac.cloud.CloudSettings
    """CloudSettings for a cloud config, with the credentials read at call time."""
    from mgc_iac.cloud import CloudSettings

    provider = config.get("provider", "lab")
    if provider == "huaweicloud":
        settings = replace(CloudSettings.from_env(), region=config.get("region") or "cn-north-4")
    elif provider == "lab":
        from mgc_iac.lab import process

        lab_dir = Path(config.get("lab_dir") or process.default_state_dir())
        url = config.get("url")
        settings = CloudSettings.for_lab(process.endpoint_for(lab_dir, url) if url else process.ensure_lab(lab_dir))
    else:
        raise ConfigError(f"unknown cloud provider {provider!r} (lab | huaweicloud)")
    if config.get("endpoints"):
        settings = replace(settings, endpoints={**settings.endpoints, **config["endpoints"]})
    if config.get("max_requests_per_second"):
        settings = replace(settings, max_requests_per_second=float(config["max_requests_per_second"]))
    return settings


def cloud_for_stack(spec: dict[str, Any], stack_dir: Path | None):  # -> mgc_iac.cloud.Cloud
    from mgc_iac.cloud import Cloud

    return Cloud(settings_for(cloud_config(spec, stack_dir)))
