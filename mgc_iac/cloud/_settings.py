"""Where and how to call Huawei Cloud: region, project, credentials, endpoints, timeouts, retry policy."""

from __future__ import annotations

import os
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from mgc_iac.errors import ConfigError

SERVICES = ("ecs", "evs", "kms", "smn", "vpc", "sms", "bss", "iam")
# BSS (prices) is a global service: the SDK's BssRegion has one endpoint, the Chinese-mainland site's
# (huaweicloudsdkbss.v2.region.bss_region); an international-site account sets MGC_IAC_ENDPOINT_BSS to
# https://bss-intl.myhuaweicloud.com (the same API, in that site's currency)
BSS_ENDPOINT = "https://bss.myhuaweicloud.com"
# SMS is a global service reached at one of the SDK's SmsRegion endpoints (huaweicloudsdksms.v3.region):
# cn-north-4 (Chinese mainland), ap-southeast-3 (international), my-kualalumpur-1, ru-moscow-1
SMS_REGIONS = ("cn-north-4", "ap-southeast-3", "my-kualalumpur-1", "ru-moscow-1")


def sms_region_for(region: str) -> str:
    """The SmsRegion endpoint region serving a target region: itself when SMS has an endpoint there, else
    cn-north-4 for a Chinese-mainland region and ap-southeast-3 for any other."""
    if region in SMS_REGIONS:
        return region
    return "cn-north-4" if region.startswith("cn-") else "ap-southeast-3"


class LabAnswer(Protocol):
    """A lab that answers (mgc_iac.lab.LabEndpoint is one): where, with which credentials, for which project."""

    url: str
    ak: str
    sk: str
    project_id: str
    region: str
    domain_id: str


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries for 429, 5xx and lost connections, with exponential backoff and full jitter."""

    max_attempts: int = 4          # tries in all, the first included
    base_delay: float = 0.25       # seconds before the first retry (upper bound of its jitter)
    max_delay: float = 8.0         # cap of one wait
    # a 429 inside a step: Huawei's advice is to wait 2 to 5 s and send again (FAQ "How Do I Handle the Error
    # APIG.0308?"); the waits double from throttle_base up to throttle_max (mgc_iac/cloud/_throttle.py)
    throttle_base: float = 2.0
    throttle_max: float = 30.0

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `retry` (0 for the first retry): uniform in [0, cap]."""
        cap = min(self.max_delay, self.base_delay * (2 ** retry))
        return (rng or random).uniform(0, cap)


@dataclass(frozen=True)
class CloudSettings:
    """Everything a client needs; build it with from_env() or for_lab(). Secrets never show in repr."""

    region: str
    project_id: str
    ak: str = field(repr=False)
    sk: str = field(repr=False)
    security_token: str | None = field(default=None, repr=False)
    endpoints: Mapping[str, str] = field(default_factory=dict)   # service -> URL, overrides the default
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    job_poll_interval: float = 1.0                                # seconds between ECS job polls
    job_timeout: float = 1800.0                                   # give up waiting for an ECS job
    pool_size: int = 64                                           # HTTP connections kept per service
    sms_region: str = ""                                          # SmsRegion entry; "" = sms_region_for(region)
    proxy: str | None = field(default=None, repr=False)           # http://[user@]host:port for every call, or none
    domain_id: str = ""        # the account id global services (BSS, IAM) sign with; "" = asked from IAM
    # the client-side cap per service endpoint (requests/s; None: adaptive only, see mgc_iac/cloud/_throttle.py)
    max_requests_per_second: float | None = None

    def endpoint(self, service: str) -> str:
        if service in self.endpoints:
            return self.endpoints[service]
        if service == "sms":
            from huaweicloudsdksms.v3.region.sms_region import SmsRegion

            return SmsRegion.value_of(self.sms_region or sms_region_for(self.region)).endpoints[0]
        if service == "bss":
            return BSS_ENDPOINT
        return f"https://{service}.{self.region}.myhuaweicloud.com"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> CloudSettings:
        """HUAWEICLOUD_SDK_AK/_SK/_SECURITY_TOKEN/_PROJECT_ID (and _DOMAIN_ID for BSS and IAM: asked from IAM when
        unset), MGC_IAC_REGION (or HUAWEICLOUD_SDK_REGION), and per-service endpoints:
        HUAWEICLOUD_SDK_REGION_{SERVICE}_{REGION} (the SDK's own form) or MGC_IAC_ENDPOINT_{SERVICE}, or
        MGC_IAC_ENDPOINT for every service."""
        env = os.environ if env is None else env
        region = env.get("MGC_IAC_REGION") or env.get("HUAWEICLOUD_SDK_REGION") or "cn-north-4"
        missing = [k for k in ("HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_PROJECT_ID")
                   if not env.get(k)]
        if missing:
            raise ConfigError(f"missing cloud credentials: set {', '.join(missing)} (for the lab: "
                              "`eval \"$(mgc-iac lab up)\"`, or use cloud.provider: lab)")
        region_key = region.upper().replace("-", "_")
        endpoints: dict[str, str] = {}
        for service in SERVICES:
            url = (env.get(f"MGC_IAC_ENDPOINT_{service.upper()}")
                   or env.get(f"HUAWEICLOUD_SDK_REGION_{service.upper()}_{region_key}") or env.get("MGC_IAC_ENDPOINT"))
            if url:
                endpoints[service] = url
        sms_region = env.get("MGC_IAC_SMS_REGION", "")
        if sms_region and sms_region not in SMS_REGIONS:
            raise ConfigError(f"MGC_IAC_SMS_REGION={sms_region}: SMS has endpoints only in {', '.join(SMS_REGIONS)} "
                              "(the SDK's SmsRegion); unset it to pick the one serving the target region")
        return cls(region=region, project_id=env["HUAWEICLOUD_SDK_PROJECT_ID"], ak=env["HUAWEICLOUD_SDK_AK"],
                   sk=env["HUAWEICLOUD_SDK_SK"], security_token=env.get("HUAWEICLOUD_SDK_SECURITY_TOKEN") or None,
                   endpoints=endpoints, sms_region=sms_region, domain_id=env.get("HUAWEICLOUD_SDK_DOMAIN_ID", ""),
                   **overrides)  # type: ignore[arg-type]

    @classmethod
    def for_lab(cls, lab: LabAnswer, **overrides: object) -> CloudSettings:
        """Settings that send every service to a lab that answers (mgc_iac.cloud.endpoint reads one from its
        directory; mgc_iac.lab.ensure_lab starts one)."""
        defaults: dict[str, object] = {"job_poll_interval": 0.05, "read_timeout": 30.0,
                                       "retry": RetryPolicy(base_delay=0.05, max_delay=0.5,
                                                                            throttle_base=0.5, throttle_max=8.0)}
        defaults.update(overrides)
        return cls(region=lab.region, project_id=lab.project_id, ak=lab.ak, sk=lab.sk, domain_id=lab.domain_id,
                   endpoints={s: lab.url for s in SERVICES}, **defaults)  # type: ignore[arg-type]
