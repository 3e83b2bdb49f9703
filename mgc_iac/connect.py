"""Which cloud a stack talks to: the embedded lab (found or started) or Huawei Cloud from the environment.

One code path: both give CloudSettings for the same SDK clients; only the endpoint and credentials differ.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mgc_iac.spec.models import Stack

LAB_SEED = "lab-seed.yaml"


def cloud_settings(stack: Stack, stack_dir: Path):  # -> mgc_iac.cloud.CloudSettings
    """Settings for the stack's cloud. A lab stack finds the running lab (or starts it with the stack's seed)."""
    from mgc_iac.cloud import CloudSettings

    if stack.cloud.provider == "lab":
        from mgc_iac.lab import ensure_lab

        seed = stack_dir / LAB_SEED
        settings = CloudSettings.for_lab(ensure_lab(seed=seed if seed.exists() else None))
    else:
        settings = CloudSettings.from_env()
        settings = replace(settings, region=stack.cloud.region)
    if stack.cloud.endpoints:
        settings = replace(settings, endpoints={**settings.endpoints, **stack.cloud.endpoints})
    return settings


def cloud_for(stack: Stack, stack_dir: Path):  # -> mgc_iac.cloud.Cloud
    from mgc_iac.cloud import Cloud

    return Cloud(cloud_settings(stack, stack_dir))
