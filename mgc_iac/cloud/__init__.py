"""Huawei Cloud clients (SMS, ECS, EVS, KMS, SMN, VPC, BSS prices) on the official SDK: one code path for the real
cloud and the embedded lab (the lab is just another endpoint).

    settings = CloudSettings.from_env()            # or CloudSettings.for_lab(mgc_iac.lab.ensure_lab())
    cloud = Cloud(settings)
    server_id = cloud.ecs.create_server(ServerRequest(...), client_token="plan-digest/web-01/target")

Every call takes a token of its endpoint's shared rate limiter and retries 429 (and, when safe to replay, 5xx
and lost connections) with jittered backoff: a bounded number of times, or inside a step's CallScope until the
step's progress watchdog gives up; then it raises a CloudError subclass carrying service, operation, status,
code and request id. Applies on one PostgreSQL state share what their limiters learn (`sharing_limits`, given
the state store's `LimiterPeer`). Waits on SMS tasks go through one FleetReader per apply (paged
ListTasks/ListServers).
The SDK is imported on first use of a service, never at import time of this package.
"""

from __future__ import annotations

from mgc_iac._lazy import by_module, lazy_exports

_EXPORTS = by_module({
    "mgc_iac.cloud._bss": "BssClient PriceQuery PriceQuote",
    "mgc_iac.cloud._cloud": "Cloud",
    "mgc_iac.cloud._ecs": "EcsClient",
    "mgc_iac.cloud._evs": "EvsClient",
    "mgc_iac.cloud._fleet": "FleetReader FleetTask",
    "mgc_iac.cloud._kms": "KmsClient",
    "mgc_iac.cloud._lab": "Fault LabControl",
    "mgc_iac.cloud._scope": "CallScope call_scope current_scope",
    "mgc_iac.cloud._settings": "CloudSettings RetryPolicy",
    "mgc_iac.cloud._shared": "LimiterPeer Share sharing_limits",
    "mgc_iac.cloud._smn": "SmnClient",
    "mgc_iac.cloud._sms": "SmsClient",
    "mgc_iac.cloud._throttle": "Pressure limiters observe reset_limiters",
    "mgc_iac.cloud._types": "AttachedVolume Command ConsistencyResult Job KeyInfo Progress SecurityGroup "
                            "SecurityGroupRule Server ServerRequest SourceDisk SourceFacts SourceServer SpeedLimit "
                            "SubTask Subnet TargetDiskPlan Task TaskRequest Topic Volume VolumeRequest Vpc "
                            "partitioned_disk",
    "mgc_iac.cloud._vpc": "VpcClient",
    "mgc_iac.cloud.contract": "coverage declared problems",
    "mgc_iac.cloud.encryption": "evs_key_specs",
    "mgc_iac.cloud.endpoint": "LAB_CREDENTIALS LAB_RUNNING cloud_account cloud_config cloud_for default_lab_dir "
                              "lab_dir_of lab_seed provider_of running_lab settings_for "
                              "sms_agent_domain sms_region",
    "mgc_iac.cloud.lookups": "kms_key lab_finishes_copies lookup lookup_scope target_network",
    "mgc_iac.cloud.sms_tasks": "SMS_POLL_SECONDS cancel_scope delete_sms_task fleet_reader_for latest_task poll_every "
                                 "send_task_action settled_task stop_task_copy",
    "mgc_iac.cloud.wait": "WaitPolicy wait_until",
})
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
