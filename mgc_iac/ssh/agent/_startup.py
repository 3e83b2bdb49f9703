"""StartUpAgent / SourceClear on a source over SSH: render templates/sms_agent.sh.j2 and run it there.

Where the package comes from (AgentPackage.for_stack): the lab's download location for a lab stack; else the
workflow's `network.agent_package_url` (sources without Internet access) or Huawei's download location for
the region; always through the workflow's source proxy when it declares one. The answers to the agent's
startup (AK, SK, SMS domain, project, security token) travel on the command's stdin only.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlparse

from mgc_iac.errors import SSHCommandError

if TYPE_CHECKING:
    import jinja2

    from mgc_iac.ssh._connector import Connector

PACKAGE = "SMS-Agent_Linux.tgz"
AGENT_DIR = "/opt/SMS-Agent"  # where StartUpAgent extracts the SMS-Agent package
AGENT_HOME = AGENT_DIR.rsplit("/", 1)[0]  # the package extracts to <home>/SMS-Agent
# Huawei's download location of the Linux SMS-Agent, per region (SMS user guide, "Installing the SMS-Agent on
# Linux": SMS-Agent_Linux.tgz and SMS-Agent_Linux.tgz.sha256 in the region's sms-agent OBS bucket)
OFFICIAL_URL = "https://sms-agent-2.obs.{region}.myhuaweicloud.com/" + PACKAGE
LAB_PATH = "/sms-agent/" + PACKAGE  # the lab's download location (mgc_iac.lab.sms_agent)
_EXIT = {71: "download failed", 72: "checksum mismatch", 73: "older agent left (SMS.0609)", 74: "extract failed",
         75: "start failed"}


class AgentInstallError(SSHCommandError):
    """The SMS-Agent could not be installed or started on a source; `code` is SMS.0609 for an older agent."""

    def __init__(self, message: str, *, exit_status: int | None = None, stderr: str = "", code: str = "") -> None:
        super().__init__(message, exit_status=exit_status, stderr=stderr)
        self.code = code


@dataclass(frozen=True)
class AgentPackage:
    """The package a source downloads, its published sha256 beside it, and the proxy it downloads through."""

    url: str
    sha256_url: str
    proxy: str | None = None

    @classmethod
    def for_stack(cls, cloud_config: dict[str, Any], network: dict[str, Any], sms_region: str) -> AgentPackage:
        proxy = network.get("proxy") or None
        proxy_url = f"http://{proxy['host']}:{proxy['port']}" if proxy else None
        if cloud_config.get("provider") == "lab":
            url = str(cloud_config["url"]).rstrip("/") + LAB_PATH
        else:
            url = network.get("agent_package_url") or OFFICIAL_URL.format(region=sms_region)
        return cls(url=url, sha256_url=url + ".sha256", proxy=proxy_url)


def startup_answers(settings: Any) -> str:
    """What startup.sh asks, one a line: AK, SK, the SMS domain (a bare host name on https, else the URL), the
    project id, the security token (empty with permanent keys). Goes on stdin only."""
    endpoint = settings.endpoint("sms")
    parsed = urlparse(endpoint)
    domain = parsed.netloc if parsed.scheme == "https" else endpoint
    return "\n".join([settings.ak, settings.sk, domain, settings.project_id, settings.security_token or ""]) + "\n"


@cache
def _template() -> jinja2.Template:
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("mgc_iac.ssh.agent", "templates"), autoescape=False,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["q"] = lambda v: shlex.quote(str(v))
    return env.get_template("sms_agent.sh.j2")


def render(action: Literal["install", "status", "uninstall"], package: AgentPackage | None = None,
           home: str = AGENT_HOME) -> str:
    """The shell script of one action (no secret in it: it is a command line on the source)."""
    p = package or AgentPackage("", "")
    return _template().render(action=action, home=home, url=p.url, sha256_url=p.sha256_url, proxy=p.proxy,
                              file=PACKAGE)


def _scrub(text: str, secrets: list[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


async def install_agent(source: Connector, package: AgentPackage, answers: str, *,
                        home: str = AGENT_HOME) -> dict[str, Any]:
    """Download, check, extract and start the SMS-Agent on `source` (idempotent: a running agent of the same
    package is left as it is). Returns {state: started|running, pid, sha256}; raises AgentInstallError."""
    res = await source.run(render("install", package, home), input=answers, timeout=900)
    if res.exit_status != 0:
        err = _scrub(res.stderr.strip(), answers.split("\n")[:2] + answers.split("\n")[4:5])
        tail = "\n".join(err.splitlines()[-6:])
        what = _EXIT.get(res.exit_status, f"exit status {res.exit_status}")
        raise AgentInstallError(f"StartUpAgent on {source.name}: {what}: {tail}", exit_status=res.exit_status,
                                stderr=err, code="SMS.0609" if res.exit_status == 73 else "")
    words = ((res.stdout.strip().splitlines() or [""])[-1].split() + ["", "", ""])[:3]
    state, pid, digest = words
    return {"state": state or "started", "pid": int(pid) if pid.isdigit() else None, "sha256": digest}


async def agent_status(source: Connector, home: str = AGENT_HOME) -> dict[str, Any]:
    """{state: running|stopped|absent, pid}: whether the SMS-Agent process runs on the source."""
    res = (await source.run(render("status", home=home), timeout=60)).check()
    words = res.stdout.split()
    return {"state": words[0] if words else "absent", "pid": int(words[1]) if len(words) > 1 else None}


async def uninstall_agent(source: Connector, home: str = AGENT_HOME) -> bool:
    """SourceClear: stop the SMS-Agent and remove it from the source; False when none was installed."""
    res = (await source.run(render("uninstall", home=home), timeout=120)).check()
    return res.stdout.strip().endswith("removed")
