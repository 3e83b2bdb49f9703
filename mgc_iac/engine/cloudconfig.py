"""Where a stack's steps call the cloud: the non-secret configuration the providers build clients from.

For `cloud.provider: lab` the lab of $MGC_IAC_LAB_DIR (default ~/.mgc-iac/lab) is started in the background
if it does not run, seeded from the stack's `lab-seed.yaml` on its first start. For `huaweicloud` the
credentials and endpoints come from the environment when a provider is called (CloudSettings.from_env).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

LAB_SEED = "lab-seed.yaml"


def cloud_config(spec: dict[str, Any], stack_dir: Path | None) -> dict[str, Any]:
    cloud = spec.get("cloud") or {}
    provider = cloud.get("provider", "lab")
    region = cloud.get("region", "cn-north-4")
    if provider != "lab":
        return {"provider": provider, "region": region}
    from mgc_iac.lab import default_state_dir, ensure_lab

    lab_dir = default_state_dir()
    seed = stack_dir / LAB_SEED if stack_dir is not None and (stack_dir / LAB_SEED).is_file() else None
    endpoint = ensure_lab(lab_dir, seed)
    return {"provider": "lab", "region": endpoint.region, "lab_dir": str(lab_dir), "url": endpoint.url}
