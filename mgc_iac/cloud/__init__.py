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

from mgc_iac.cloud._bss import BssClient, PriceQuery, PriceQuote
from mgc_iac.cloud._cloud import Cloud
from mgc_iac.cloud._ecs import EcsClient
from mgc_iac.cloud._evs import EvsClient
from mgc_iac.cloud._fleet import FleetReader, FleetTask
from mgc_iac.cloud._kms import KmsClient
from mgc_iac.cloud._lab import Fault, LabControl
from mgc_iac.cloud._scope import CallScope, call_scope, current_scope
from mgc_iac.cloud._settings import CloudSettings, RetryPolicy
from mgc_iac.cloud._shared import LimiterPeer, Share, sharing_limits
from mgc_iac.cloud._smn import SmnClient
from mgc_iac.cloud._sms import SmsClient
from mgc_iac.cloud._throttle import Pressure, limiters, observe, reset_limiters
from mgc_iac.cloud._types import (
    AttachedVolume,
    Command,
    ConsistencyResult,
    Job,
    KeyInfo,
    Progress,
    SecurityGroup,
    SecurityGroupRule,
    Server,
    ServerRequest,
    SourceDisk,
    SourceFacts,
    SourceServer,
    SpeedLimit,
    Subnet,
    SubTask,
    TargetDiskPlan,
    Task,
    TaskRequest,
    Topic,
    Volume,
    VolumeRequest,
    Vpc,
    partitioned_disk,
)
from mgc_iac.cloud._vpc import VpcClient

__all__ = [
    "Cloud", "CloudSettings", "RetryPolicy", "LabControl", "Fault",
    "BssClient", "PriceQuery", "PriceQuote",
    "EcsClient", "EvsClient", "KmsClient", "SmnClient", "SmsClient", "VpcClient",
    "ServerRequest", "VolumeRequest", "Server", "Job", "Volume", "KeyInfo", "Topic", "Vpc", "Subnet",
    "SecurityGroup", "SecurityGroupRule", "SourceFacts", "SourceServer", "SourceDisk", "Command", "TaskRequest", "Task",
    "SubTask", "Progress", "SpeedLimit", "ConsistencyResult", "AttachedVolume", "TargetDiskPlan",
    "partitioned_disk",
    "FleetReader", "FleetTask", "CallScope", "call_scope", "current_scope", "Pressure", "limiters", "observe",
    "reset_limiters", "LimiterPeer", "Share", "sharing_limits",
]
