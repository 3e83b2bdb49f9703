"""Which cloud a stack talks to, as data: the embedded lab or Huawei Cloud from the environment. Starts nothing.

One code path: both give CloudSettings for the same SDK clients; only endpoints and credentials differ.
The `cloud config` is the non-secret description that travels in provider inputs:

    {"provider": "lab", "region": "cn-north-4", "lab_dir": "/path/to/lab/state", "url": "http://127.0.0.1:PORT",
     "project_id": "...", "domain_id": "..."}
    {"provider": "huaweicloud", "region": "cn-north-4", "endpoints": {"sms": "https://..."}}

A lab stack's config is made from a lab that already answers (the workspace, mgc_iac.operations._workspace, finds
or starts it; this module never does). Credentials never travel in the config: the lab's are read from its
state directory (credentials.json, mode 0600), Huawei Cloud's from the environment
(HUAWEICLOUD_SDK_AK/_SK/_PROJECT_ID). The files of a lab directory that a client reads are named here, and the
lab writes them under these names: the client side of the lab's contract.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mgc_iac.cloud._cloud import Cloud
from mgc_iac.cloud._settings import CloudSettings, LabAnswer
from mgc_iac.errors import ConfigError

LAB_SEED = "lab-seed.yaml"           # in a stack directory: the lab's account (and hosts) for a lab stack
LAB_CREDENTIALS = "credentials.json"  # in a lab directory: {"ak", "sk"}, mode 0600
LAB_RUNNING = "lab.json"              # in a lab directory: {pid, port, url, project_id, region, domain_id}
DEFAULT_REGION = "cn-north-4"


def provider_of(spec: dict[str, Any]) -> str:
    return (spec.get("cloud") or {}).get("provider", "lab")


def lab_seed(stack_dir: Path | None) -> Path | None:
    """The stack's lab-seed.yaml, when it has one."""
    seed = Path(stack_dir) / LAB_SEED if stack_dir is not None else None
    return seed if seed is not None and seed.is_file() else None


def cloud_config(spec: dict[str, Any], lab: LabAnswer | None = None, lab_dir: Path | None = None) -> dict[str, Any]:
    """The non-secret cloud description of a stack (canonical spec). A lab stack needs the lab that answers for it
    (`lab`, running from `lab_dir`); without one, the config names the lab directory only (a client then finds the
    lab running there, see settings_for)."""
    cloud = spec.get("cloud") or {}
    provider = provider_of(spec)
    config: dict[str, Any] = {"provider": provider, "region": cloud.get("region", DEFAULT_REGION)}
    if cloud.get("endpoints"):
        config["endpoints"] = dict(sorted(cloud["endpoints"].items()))
    if cloud.get("max_requests_per_second"):
        config["max_requests_per_second"] = float(cloud["max_requests_per_second"])
    if provider != "lab":
        return config
    if lab_dir is not None:
        config["lab_dir"] = str(lab_dir)
    if lab is not None:
        config.update(region=lab.region, url=lab.url, project_id=lab.project_id, domain_id=lab.domain_id)
    return config


def cloud_account(config: dict[str, Any]) -> str:
    """provider/region/project_id of the cloud a config points at (no credential needed to tell): what approvals
    are signed for, with the state backend's id."""
    provider = config.get("provider", "lab")
    region = config.get("region") or DEFAULT_REGION
    if provider == "huaweicloud":
        project = os.environ.get("HUAWEICLOUD_SDK_PROJECT_ID")
        if not project:
            raise ConfigError("set HUAWEICLOUD_SDK_PROJECT_ID to the project the stack migrates into: approvals "
                              "are signed for one cloud account/project")
        return f"huaweicloud/{region}/{project}"
    if config.get("project_id"):
        return f"{provider}/{region}/{config['project_id']}"
    settings = settings_for(config)
    return f"{provider}/{settings.region}/{settings.project_id}"


def lab_credentials(lab_dir: Path) -> tuple[str, str]:
    """The AK/SK a lab accepts, from its directory (the lab writes them at first start)."""
    path = Path(lab_dir) / LAB_CREDENTIALS
    try:
        data = json.loads(path.read_text())
        return str(data["ak"]), str(data["sk"])
    except (OSError, ValueError, KeyError):
        raise ConfigError(f"no lab credentials in {lab_dir} ({LAB_CREDENTIALS}): start the lab with `mgc-iac lab up "
                          f"--dir {lab_dir}`") from None


def running_lab(lab_dir: Path) -> dict[str, Any] | None:
    """What the lab running from `lab_dir` wrote about itself ({pid, port, url, project_id, region}), or None."""
    try:
        return dict(json.loads((Path(lab_dir) / LAB_RUNNING).read_text()))
    except (OSError, ValueError, TypeError):
        return None


def settings_for(config: dict[str, Any]) -> CloudSettings:
    """CloudSettings for a cloud config, with the credentials read at call time. A lab config without a URL (an
    exported deployment) reaches the lab running from its directory; none running is an error, never a start."""
    provider = config.get("provider", "lab")
    if provider == "huaweicloud":
        settings = replace(CloudSettings.from_env(), region=config.get("region") or DEFAULT_REGION)
    elif provider == "lab":
        settings = _lab_settings(config)
    else:
        raise ConfigError(f"unknown cloud provider {provider!r} (lab | huaweicloud)")
    if config.get("endpoints"):
        settings = replace(settings, endpoints={**settings.endpoints, **config["endpoints"]})
    if config.get("max_requests_per_second"):
        settings = replace(settings, max_requests_per_second=float(config["max_requests_per_second"]))
    return settings


def _lab_settings(config: dict[str, Any]) -> CloudSettings:
    lab_dir = lab_dir_of(config)
    url, project, region = config.get("url"), config.get("project_id"), config.get("region")
    domain = config.get("domain_id") or ""
    if not url:
        info = running_lab(lab_dir)
        if info is None or not info.get("url"):
            raise ConfigError(f"no lab runs from {lab_dir}: start it with `mgc-iac lab up --dir {lab_dir}`")
        url, project, region, domain = info["url"], info.get("project_id"), info.get("region"), \
            info.get("domain_id") or ""
    ak, sk = lab_credentials(lab_dir)
    if not project:  # a config made before the project travelled in it: the lab says which it is
        from mgc_iac.cloud._lab import LabControl

        asking = _Answer(str(url), ak, sk, "-", region or DEFAULT_REGION, domain)
        health = LabControl(CloudSettings.for_lab(asking)).health()
        project, region = health["project_id"], health["region"]
    return CloudSettings.for_lab(_Answer(str(url), ak, sk, str(project), str(region or DEFAULT_REGION), domain))


class _Answer:
    """A LabAnswer made of the values a client read (domain "": the account id is asked from IAM)."""

    def __init__(self, url: str, ak: str, sk: str, project_id: str, region: str, domain_id: str = "") -> None:
        self.url, self.ak, self.sk, self.project_id, self.region = url, ak, sk, project_id, region
        self.domain_id = domain_id


def sms_agent_domain(settings: CloudSettings, config: dict[str, Any]) -> str:
    """The SMS domain the SMS-Agent's startup.sh wants: the bare host of the SMS endpoint
    (`sms.<region>.myhuaweicloud.com`). In the lab, Huawei's name of the lab's region (the lab's network maps it
    onto the lab, as DNS would)."""
    parsed = urlparse(settings.endpoint("sms"))
    if config.get("provider") == "lab":
        return f"sms.{settings.sms_region or settings.region}.myhuaweicloud.com"
    if parsed.scheme != "https" or not parsed.hostname or parsed.port or parsed.path.strip("/"):
        raise ConfigError(f"the SMS endpoint {settings.endpoint('sms')} is not a bare https host name, and the "
                          "SMS-Agent takes only a domain (e.g. sms.cn-north-4.myhuaweicloud.com): unset the SMS "
                          "endpoint override (MGC_IAC_ENDPOINT_SMS / cloud.endpoints.sms) or give it as https://HOST")
    return parsed.hostname


def sms_region(settings: CloudSettings) -> str:
    """The region of the SMS endpoint the agent talks to (SMS is global: its endpoint's region, not the target's)."""
    host = settings.endpoint("sms").split("://", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    return parts[1] if len(parts) > 3 and parts[0] == "sms" else settings.region


def default_lab_dir() -> Path:
    """The lab directory of this user: $MGC_IAC_LAB_DIR, else ~/.mgc-iac/lab."""
    return Path(os.environ.get("MGC_IAC_LAB_DIR") or Path.home() / ".mgc-iac" / "lab")


def lab_dir_of(config: dict[str, Any]) -> Path:
    """The directory of a lab config's lab (the user's default when the config names none)."""
    return Path(config.get("lab_dir") or default_lab_dir())


_clouds: dict[tuple[str, ...], Cloud] = {}
_clouds_lock = threading.Lock()


def config_key(config: dict[str, Any]) -> tuple[str, ...]:
    """What tells two cloud configs apart (the same key: the same cloud)."""
    return tuple(str(config.get(k) or "") for k in ("provider", "region", "lab_dir", "url", "endpoints"))


def cloud_for(config: dict[str, Any]) -> Cloud:
    """One Cloud per configuration in this process (HTTP connections reused), built on first use."""
    key = config_key(config)
    with _clouds_lock:
        cloud = _clouds.get(key)
    if cloud is None:
        cloud = Cloud(settings_for(config))
        with _clouds_lock:
            cloud = _clouds.setdefault(key, cloud)
    return cloud
