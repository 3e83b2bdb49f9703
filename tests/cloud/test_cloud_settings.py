"""CloudSettings from the environment: credentials, region, per-service endpoints; secrets stay hidden."""

from __future__ import annotations

import random

import pytest

from mgc_iac.cloud import CloudSettings, RetryPolicy
from mgc_iac.errors import ConfigError

ENV = {"HUAWEICLOUD_SDK_AK": "AKEXAMPLE", "HUAWEICLOUD_SDK_SK": "SK-very-secret",
       "HUAWEICLOUD_SDK_PROJECT_ID": "p1", "HUAWEICLOUD_SDK_SECURITY_TOKEN": "tok-secret"}


def test_from_env_reads_credentials_region_and_endpoints() -> None:
    env = {**ENV, "MGC_IAC_REGION": "ap-southeast-1",
           "HUAWEICLOUD_SDK_REGION_SMS_AP_SOUTHEAST_1": "http://127.0.0.1:9000",
           "MGC_IAC_ENDPOINT_ECS": "http://127.0.0.1:9001"}
    settings = CloudSettings.from_env(env)
    assert (settings.region, settings.project_id, settings.security_token) == ("ap-southeast-1", "p1", "tok-secret")
    assert settings.endpoint("sms") == "http://127.0.0.1:9000"
    assert settings.endpoint("ecs") == "http://127.0.0.1:9001"
    assert settings.endpoint("kms") == "https://kms.ap-southeast-1.myhuaweicloud.com"
    for secret in ("SK-very-secret", "tok-secret"):
        assert secret not in repr(settings)


def test_missing_credentials_name_the_variables_and_never_the_values() -> None:
    with pytest.raises(ConfigError, match="HUAWEICLOUD_SDK_PROJECT_ID") as info:
        CloudSettings.from_env({k: v for k, v in ENV.items() if k != "HUAWEICLOUD_SDK_PROJECT_ID"})
    assert "SK-very-secret" not in str(info.value)


def test_backoff_is_bounded_exponential_with_jitter() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=2.0)
    rng = random.Random(7)
    waits = [[policy.delay(n, rng) for n in range(6)] for _ in range(200)]
    caps = [0.5, 1.0, 2.0, 2.0, 2.0, 2.0]
    for column, cap in enumerate(caps):
        values = [w[column] for w in waits]
        assert all(0 <= v <= cap for v in values)
        assert max(values) - min(values) > cap / 2           # jittered, not a fixed wait


@pytest.mark.parametrize(("region", "sms"), [
    ("cn-north-4", "https://sms.cn-north-4.myhuaweicloud.com"),
    ("cn-east-3", "https://sms.cn-north-4.myhuaweicloud.com"),           # Chinese mainland: cn-north-4
    ("ap-southeast-1", "https://sms.ap-southeast-3.myhuaweicloud.com"),  # international: ap-southeast-3
    ("ap-southeast-3", "https://sms.ap-southeast-3.myhuaweicloud.com"),
    ("ru-moscow-1", "https://sms-api.ru-moscow-1.myhuaweicloud.com"),    # the SDK's own host name there
])
def test_sms_is_global_and_reached_at_an_sdk_sms_region(region: str, sms: str) -> None:
    env = {"HUAWEICLOUD_SDK_AK": "ak", "HUAWEICLOUD_SDK_SK": "sk", "HUAWEICLOUD_SDK_PROJECT_ID": "p",
           "MGC_IAC_REGION": region}
    settings = CloudSettings.from_env(env)
    assert settings.endpoint("sms") == sms
    assert settings.endpoint("ecs") == f"https://ecs.{region}.myhuaweicloud.com"   # regional services stay regional


def test_an_sms_region_without_an_sms_endpoint_is_refused_with_the_list() -> None:
    env = {"HUAWEICLOUD_SDK_AK": "ak", "HUAWEICLOUD_SDK_SK": "sk", "HUAWEICLOUD_SDK_PROJECT_ID": "p",
           "MGC_IAC_SMS_REGION": "eu-west-101"}
    with pytest.raises(ConfigError, match="cn-north-4, ap-southeast-3, my-kualalumpur-1, ru-moscow-1"):
        CloudSettings.from_env(env)
    env["MGC_IAC_SMS_REGION"] = "my-kualalumpur-1"
    assert CloudSettings.from_env(env).endpoint("sms") == "https://sms.my-kualalumpur-1.myhuaweicloud.com"
