"""What EVS disk encryption takes, as Huawei documents it (the SDK's key_spec is a free string).

AES_256 everywhere; SM4 (China's national algorithm) in Chinese-mainland regions only (KMS key specs by region;
huawei-behaviour.md "KMS keys can be AES_256 or SM4 (Chinese regions)"). The stack's rules refuse another key
offline; the target provider checks the key it finds before CreateServers.
"""

from __future__ import annotations

SM4_REGION_PREFIX = "cn-"


def evs_key_specs(region: str) -> tuple[str, ...]:
    """The KMS key specs EVS encrypts with in `region`."""
    return ("AES_256", "SM4") if region.startswith(SM4_REGION_PREFIX) else ("AES_256",)
