"""Every answer of the lab checked against the SDK 3.1.219 response model of its operation before it is sent.

The route name is `service.sdk_method` (e.g. sms.show_task); the model is the SDK's `<Method>Response` in the
service's model package (v2 paths of VPC use the v2 package). An answer with a field the model does not declare,
or a value of another type, is replaced by a 500 naming the field: the lab cannot drift into shapes of its own.
The one documented SDK gap (ShowConsistencyResultResponse.result_list) is checked in its documented shape.
"""

from __future__ import annotations

import importlib
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType
from typing import Any

from aiohttp import web

from mgc_iac.cloud import problems

PACKAGES = {"ecs": "huaweicloudsdkecs.v2.model", "evs": "huaweicloudsdkevs.v2.model",
            "kms": "huaweicloudsdkkms.v2.model", "smn": "huaweicloudsdksmn.v2.model",
            "sms": "huaweicloudsdksms.v3.model", "vpc": "huaweicloudsdkvpc.v3.model",
            "bss": "huaweicloudsdkbss.v2.model", "iam": "huaweicloudsdkiam.v3.model"}
V2 = {"vpc": "huaweicloudsdkvpc.v2.model"}
# lab routes that serve SDK methods of other names (ECS start and stop share POST /cloudservers/action; the VPC
# v2 paths are the v2 package's list_vpcs / show_vpc); the answer model is the first one's
SHARED_ROUTES = {"ecs.server_action": ("batch_start_servers", "batch_stop_servers"), "vpc.list_vpcs_v2": ("list_vpcs",),
                 # one path, the body's action says create or delete (BatchCreateServerTags / BatchDeleteServerTags)
                 "ecs.batch_create_server_tags": ("batch_create_server_tags", "batch_delete_server_tags"),
                 "vpc.show_vpc_v2": ("show_vpc",)}
ALIASES = {route: ops[0] for route, ops in SHARED_ROUTES.items()}


@dataclass
class ContractStats:
    """What checking answers costs: checks made, seconds spent checking, seconds spent in lab handlers."""

    checks: int = 0
    seconds: float = 0.0
    handler_seconds: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)       # requests that reached a service, per route
    throttled: Counter[str] = field(default_factory=Counter)   # of those, answered 429 by the gateway's limit

    def to_dict(self) -> dict[str, Any]:
        return {"checks": self.checks, "check_seconds": round(self.seconds, 6),
                "handler_seconds": round(self.handler_seconds, 6), "cpu_seconds": round(time.process_time(), 3),
                "calls": dict(self.calls), "throttled": dict(self.throttled)}


STATS: web.AppKey[ContractStats] = web.AppKey("contract_stats", ContractStats)


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


@cache
def response_model(route: str, path: str) -> tuple[ModuleType, str] | None:
    """(model package, response model name) of a lab route, or None for the lab's own control API."""
    service, _, operation = route.partition(".")
    if service not in PACKAGES or not operation:
        return None
    operation = ALIASES.get(route, operation)
    package_name = V2[service] if service in V2 and path.startswith("/v1/") else PACKAGES[service]
    package = importlib.import_module(package_name)
    name = f"{_camel(operation)}Response"
    return (package, name) if hasattr(package, name) else None


def check_answer(route: str, path: str, data: Any) -> list[str]:
    """Problems of the answer `data` of `route` against its SDK response model ([] when it conforms)."""
    found = response_model(route, path)
    if found is None:
        return [f"{route}: no SDK response model for this route"] if route.partition(".")[0] in PACKAGES else []
    package, name = found
    return problems(data if data is not None else {}, name, package)
