"""What every lab handler shares: the store, the account identity, the settings, and Huawei-style errors."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from mgc_iac.lab.faults import Faults
from mgc_iac.lab.gateway import DEFAULT_RATE_LIMIT, GatewayLimit, check_rate_limit
from mgc_iac.lab.seed import Seed, seed_documents
from mgc_iac.lab.store import Store

# agent_timeout_seconds: a source counts as connected while its agent's last poll is younger than this;
# transition_seconds: how long SMS's asynchronous transitions (ABORTING, DELETING, cutovering, clearing) take;
# sync_interval_seconds: the pause between two rounds of continuous synchronisation (Huawei does not publish it);
# transfer_seconds (lab only, with instant_transfers): how long a simulated copy runs before it finishes;
# rate_limit: the API gateway's flow control (mgc_iac/lab/gateway.py), null for none
DEFAULT_SETTINGS: dict[str, Any] = {"job_seconds": 2.0, "instant_transfers": False, "agent_timeout_seconds": 90.0,
                                    "transition_seconds": 0.5, "sync_interval_seconds": 3.0, "transfer_seconds": 0.0,
                                    "rate_limit": DEFAULT_RATE_LIMIT}


class LabError(Exception):
    """Answered as {"error_code", "error_msg"} with the given HTTP status (and X-Request-Id)."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        self.status = status
        self.code = code
        self.retry_after = retry_after   # seconds, sent as Retry-After (a 429 of a fault rule that says so)
        super().__init__(message)


def not_found(code: str, what: str) -> LabError:
    return LabError(404, code, f"{what} does not exist")


def conflict(code: str, message: str) -> LabError:
    return LabError(409, code, message)


def bad_request(code: str, message: str) -> LabError:
    return LabError(400, code, message)


@dataclass
class LabContext:
    """The lab's world. Handlers reach it as request.app[LAB]; it lives on the event-loop thread."""

    store: Store
    seed: Seed
    keys: dict[str, str]                      # AK -> SK accepted by the signature check
    faults: Faults = field(default_factory=Faults)
    clock: Any = time.time                    # replaced in tests that need to move time
    gateway: GatewayLimit | None = None       # the API gateway's flow control (None: off)

    def all_keys(self) -> dict[str, str]:
        """AK -> SK of every credential the lab accepts: its own and the seed's temporary ones."""
        temporary = {c["access_key"]: c["secret_key"] for c in self.seed.temporary_credentials}
        return {**temporary, **self.keys}

    def security_tokens(self) -> dict[str, str]:
        """AK -> the X-Security-Token a temporary credential must send."""
        return {c["access_key"]: c["security_token"] for c in self.seed.temporary_credentials}

    @property
    def project_id(self) -> str:
        return self.seed.project_id

    @property
    def region(self) -> str:
        return self.seed.region

    @property
    def domain_id(self) -> str:
        return self.seed.domain_id

    def settings(self) -> dict[str, Any]:
        return {k: self.store.setting(k, v) for k, v in DEFAULT_SETTINGS.items()}

    def job_seconds(self) -> float:
        return float(self.store.setting("job_seconds", DEFAULT_SETTINGS["job_seconds"]))

    def instant_transfers(self) -> bool:
        return bool(self.store.setting("instant_transfers", False))

    def transition_seconds(self) -> float:
        return float(self.store.setting("transition_seconds", DEFAULT_SETTINGS["transition_seconds"]))

    def sync_interval(self) -> float:
        return float(self.store.setting("sync_interval_seconds", DEFAULT_SETTINGS["sync_interval_seconds"]))

    def transfer_seconds(self) -> float:
        return float(self.store.setting("transfer_seconds", 0.0) or 0.0)

    def refresh_gateway(self) -> None:
        """Build the gateway's limit from the stored setting (after a seed, a reset or a settings change)."""
        limit = check_rate_limit(self.store.setting("rate_limit", DEFAULT_RATE_LIMIT))
        current = self.gateway
        if limit is None:
            self.gateway = None
        elif current is None or (current.requests_per_second, current.per) != (limit["requests_per_second"],
                                                                               limit["per"]):
            self.gateway = GatewayLimit(limit["requests_per_second"], limit["per"])

    def agent_timeout(self) -> float:
        return float(self.store.setting("agent_timeout_seconds", DEFAULT_SETTINGS["agent_timeout_seconds"]))

    def load_seed(self) -> None:
        """Write the seeded account, settings and faults (on first start and after a reset)."""
        with self.store.tx():
            for kind, doc in seed_documents(self.seed):
                self.store.put(kind, doc)
            for key in DEFAULT_SETTINGS:
                if key in self.seed.lab:
                    value = self.seed.lab[key]
                    self.store.set_setting(key, check_rate_limit(value) if key == "rate_limit" else value)
            faults = {"seed": self.seed.lab.get("fault_seed", 0), "rules": self.seed.lab.get("faults", [])}
            self.store.set_setting("faults", faults)
            self.store.set_setting("seeded", True)
        self.faults = Faults.from_dict(faults)
        self.refresh_gateway()

    def open(self) -> None:
        """Seed an empty store, or pick up the faults a previous run left."""
        if not self.store.setting("seeded"):
            self.load_seed()
        else:
            self.faults = Faults.from_dict(self.store.setting("faults", {}))
            self.refresh_gateway()

    def reset(self) -> None:
        self.store.wipe()
        self.load_seed()


LAB: web.AppKey[LabContext] = web.AppKey("lab", LabContext)
ANSWER: web.ResponseKey[Any] = web.ResponseKey("answer", object)


def lab_of(request: web.Request) -> LabContext:
    return request.app[LAB]


def new_id() -> str:
    return str(uuid.uuid4())


def now_iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


async def body_json(request: web.Request) -> dict[str, Any]:
    """The JSON object body, or a 400 in the Huawei shape."""
    raw = await request.read()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise bad_request("Common.0400", "request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise bad_request("Common.0400", "request body must be a JSON object")
    return data


def reply(data: Any, status: int = 200) -> web.Response:
    """A JSON answer; the data rides along so the SDK-model check (mgc_iac.lab.contract) needs no re-parse."""
    resp = web.json_response(data, status=status, dumps=lambda o: json.dumps(o, separators=(",", ":")))
    resp[ANSWER] = data
    return resp



def check_project(request: web.Request) -> None:
    """Paths that carry a project id must carry this lab's."""
    project = request.match_info.get("project_id")
    if project is not None and project != lab_of(request).project_id:
        raise LabError(403, "APIGW.0302", "the project id in the path is not this account's")
