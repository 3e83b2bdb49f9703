"""StartUpAgent / SourceClear on a Linux source over SSH, the way Huawei's console command does it.

1. The SOURCE downloads `SMS-Agent.tar.gz` and the `SMS-Agent.tar.gz.sha256` published beside it, itself,
   through the workflow's source proxy when one is declared (templates/sms_agent.sh.j2), checks the package
   against it, refuses an older agent left on the source (SMS.0609), extracts `SMS-Agent/` and writes the proxy
   into the agent's own `SMS-Agent/agent/config/auth.cfg`, section `[proxy-config]` (the agent registers with SMS
   through it).
2. `./startup.sh` is then run in a terminal (`script`, as a user at the console) and answered prompt by prompt,
   by matching each prompt's text with a deadline (_dialog.py): never a fixed list of lines.
3. `linuxmain` is left running on its own (startup.sh detaches it); the SSH session ends.

Where the package comes from (AgentPackage.for_stack): the lab's download location for a lab stack; else the
workflow's `network.agent_package_url`, or Huawei's per-region OBS bucket (official_package_url). Sources: the
SMS user guide's Linux install page via huaweicloud/huaweicloud-skills (skill huawei-cloud-sms-migration-
assistant, "SMS Agent Installation") and scripts wrapping the console's command (hbstarjason2021/terraform-
workshop huaweicloud/sms-task/install_agent.sh); /work/shared/reference/huawei-behaviour.md.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import shlex
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from mgc_iac.errors import ConfigError, SSHCommandError
from mgc_iac.ssh.agent._dialog import StartupAnswers, StartupDialog, StartupDialogError, drive

if TYPE_CHECKING:
    import jinja2

    from mgc_iac.ssh._connector import Connector
    from mgc_iac.ssh.hosts import HostAccess

PACKAGE = "SMS-Agent.tar.gz"
AGENT_DIR = "/opt/SMS-Agent"  # where StartUpAgent extracts the SMS-Agent package
AGENT_HOME = AGENT_DIR.rsplit("/", 1)[0]  # the package extracts to <home>/SMS-Agent
AUTH_CFG = "agent/config/auth.cfg"        # inside SMS-Agent/: the agent's own settings, [proxy-config] among them
# Huawei's buckets of the Linux SMS-Agent: `sms-agent-2-0.obs.<region>` (ap-southeast-1 in the SKILL's guide);
# some regions name the bucket after themselves (cn-north-1 in the console's command the 3P script wraps)
OFFICIAL_BUCKET = "https://sms-agent-2-0.obs.{region}.myhuaweicloud.com"
REGION_BUCKETS = {"cn-north-1": "https://sms-agent-2-0-cn-north-1.obs.cn-north-1.myhuaweicloud.com"}
LAB_PATH = "/sms-agent/" + PACKAGE  # the lab's download location (mgc_iac.lab.sms_agent)
STARTUP_DEADLINE_SECONDS = 180.0
STARTUP_PID = ".startup.pid"              # inside SMS-Agent/: the runner of the startup.sh being answered
_EXIT = {71: "download failed", 72: "checksum mismatch", 73: "older agent left (SMS.0609)", 74: "extract failed",
         76: "cannot write the proxy into auth.cfg"}


class AgentInstallError(SSHCommandError):
    """The SMS-Agent could not be installed or started on a source; `code` is SMS.0609 for an older agent."""

    def __init__(self, message: str, *, exit_status: int | None = None, stderr: str = "", code: str = "") -> None:
        super().__init__(message, exit_status=exit_status, stderr=stderr)
        self.code = code


def official_package_url(region: str) -> str:
    """Huawei's download location of SMS-Agent.tar.gz for an SMS region (its .sha256 is beside it)."""
    return REGION_BUCKETS.get(region, OFFICIAL_BUCKET.format(region=region)) + "/" + PACKAGE


@dataclass(frozen=True)
class AgentProxy:
    """The source's proxy: what the download goes through and what auth.cfg [proxy-config] names."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class AgentPackage:
    """The package a source downloads, its published sha256 beside it, and the source's proxy."""

    url: str
    sha256_url: str
    proxy: AgentProxy | None = None

    @classmethod
    def for_stack(cls, cloud_config: dict[str, Any], network: dict[str, Any], sms_region: str) -> AgentPackage:
        declared = network.get("proxy") or None
        proxy = AgentProxy(str(declared["host"]), int(declared["port"])) if declared else None
        if network.get("agent_package_url"):
            url = str(network["agent_package_url"])
        elif cloud_config.get("provider") == "lab":
            url = str(cloud_config["url"]).rstrip("/") + LAB_PATH
        else:
            url = official_package_url(sms_region)
        return cls(url=url, sha256_url=url + ".sha256", proxy=proxy)


def startup_answers(ak: str, sk: str, domain: str, *, security_token: str | None = None,
                    enterprise_project: str = "default") -> StartupAnswers:
    """What startup.sh may be told (`domain`: the SMS domain, mgc_iac.cloud.endpoint.sms_agent_domain). Refuses
    temporary credentials: the agent has no security-token prompt and federated or temporary AK/SK cannot start
    it (SMS FAQ; huawei-behaviour.md)."""
    if security_token:
        raise ConfigError(temporary_credentials_reason())
    return StartupAnswers(ak=ak, sk=sk, domain=domain, enterprise_project=enterprise_project or "default")


def temporary_credentials_reason() -> str:
    return ("the credentials carry a security token (temporary or federated AK/SK, HUAWEICLOUD_SDK_SECURITY_TOKEN): "
            "the SMS-Agent's startup.sh asks only for an AK and SK and SMS does not accept temporary keys for an "
            "agent (SMS FAQ), so mgc-iac cannot start it; use a permanent AK/SK of an IAM user for the apply, or set "
            "`agent: preinstalled` on the source and install the agent yourself")


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
                              file=PACKAGE, auth_cfg=AUTH_CFG)


def startup_command(home: str = AGENT_HOME, deadline: float = STARTUP_DEADLINE_SECONDS) -> str:
    """Run startup.sh in a terminal of its own (`script`: prompts read with `read -p` show only on a terminal),
    echo off (an answer typed is not printed back), ended on the source itself past the deadline."""
    agent = shlex.quote(f"{home}/SMS-Agent")
    inner = shlex.quote("stty -echo 2>/dev/null; exec ./startup.sh")
    limit = f"timeout -k 5 {int(deadline) + 10}" + " "
    # the pid kept is timeout's (exec keeps it): a TERM to it reaches the whole dialog (stop_startup)
    return (f"cd {agent} || exit 74; echo $$ > {STARTUP_PID}; t=; command -v timeout >/dev/null 2>&1 && "
            f"t='{limit}'; if command -v script >/dev/null 2>&1; then exec $t script -qec {inner} /dev/null; "
            "else exec $t ./startup.sh; fi")


async def stop_startup(source: Connector, home: str = AGENT_HOME) -> None:
    """End a startup.sh mgc-iac stopped answering (it would ask again forever): TERM to its runner."""
    pid_file = shlex.quote(f"{home}/SMS-Agent/{STARTUP_PID}")
    script = (f"p=$(cat {pid_file} 2>/dev/null) && [ -n \"$p\" ] && kill -TERM \"$p\" 2>/dev/null; sleep 0.5; "
              f"[ -n \"$p\" ] && kill -KILL -- -\"$p\" \"$p\" 2>/dev/null; rm -f {pid_file}; true")
    with contextlib.suppress(Exception):  # best effort: the connection may be what failed (timeout ends it then)
        await source.run(script, timeout=30)


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return text


async def run_startup(source: Connector, answers: StartupAnswers, *, home: str = AGENT_HOME,
                      deadline: float = STARTUP_DEADLINE_SECONDS) -> list[str]:
    """Run startup.sh and answer its prompts; returns the prompts answered (their kinds, never the values)."""
    import asyncssh

    conn = source.connection  # type: ignore[attr-defined]  # an SSHConnector: the dialog needs a live channel
    dialog = StartupDialog(answers)
    proc = await conn.create_process(startup_command(home, deadline), encoding=None, stderr=asyncssh.STDOUT)
    decoder = codecs.getincrementaldecoder("utf-8")("replace")

    async def read() -> str:
        data = await proc.stdout.read(65536)
        return decoder.decode(data, final=not data) if data else ""

    async def write(text: str) -> None:
        proc.stdin.write(text.encode())
        await proc.stdin.drain()

    try:
        await drive(read, write, dialog, deadline_seconds=deadline)
        done = await asyncio.wait_for(proc.wait(), timeout=30)
    except StartupDialogError as exc:
        await stop_startup(source, home)
        raise AgentInstallError(f"StartUpAgent on {source.name}: {_scrub(str(exc), answers.secrets)}",
                                stderr=_scrub(dialog.tail(20), answers.secrets)) from exc
    except (TimeoutError, asyncssh.Error, OSError) as exc:
        await stop_startup(source, home)
        raise AgentInstallError(f"StartUpAgent on {source.name}: startup.sh did not end ({exc or 'timeout'}); it "
                                f"printed last: {_scrub(dialog.tail(4), answers.secrets)!r}") from exc
    except BaseException:
        await asyncio.shield(stop_startup(source, home))  # cancelled (Ctrl-C): nothing left asking on the source
        raise
    finally:
        proc.close()
    status = done.exit_status if done.exit_status is not None else 255
    if status != 0:
        tail = _scrub(dialog.tail(6), answers.secrets)
        raise AgentInstallError(f"StartUpAgent on {source.name}: startup.sh exited with status {status} after "
                                f"{', '.join(dialog.asked) or 'no prompt'}: {tail}", exit_status=status, stderr=tail)
    return list(dialog.asked)


async def install_agent(source: Connector, package: AgentPackage, answers: StartupAnswers, *,
                        home: str = AGENT_HOME, deadline: float = STARTUP_DEADLINE_SECONDS) -> dict[str, Any]:
    """Download, check, extract, configure and start the SMS-Agent on `source` (idempotent: a running agent of
    the same package is left as it is). Returns {state: started|running, pid, sha256, prompts};
    raises AgentInstallError."""
    res = await source.run(render("install", package, home), timeout=900)
    if res.exit_status != 0:
        tail = "\n".join(res.stderr.strip().splitlines()[-6:])
        what = _EXIT.get(res.exit_status, f"exit status {res.exit_status}")
        raise AgentInstallError(f"StartUpAgent on {source.name}: {what}: {tail}", exit_status=res.exit_status,
                                stderr=res.stderr, code="SMS.0609" if res.exit_status == 73 else "")
    words = ((res.stdout.strip().splitlines() or [""])[-1].split() + ["", "", ""])[:3]
    state, digest, pid = words
    if state == "running":
        return {"state": "running", "pid": int(pid) if pid.isdigit() else None, "sha256": digest, "prompts": []}
    prompts = await run_startup(source, answers, home=home, deadline=deadline)
    for _ in range(100):
        status = await agent_status(source, home)
        if status["state"] == "running":
            return {"state": "started", "pid": status["pid"], "sha256": digest, "prompts": prompts}
        await asyncio.sleep(0.1)
    raise AgentInstallError(f"StartUpAgent on {source.name}: startup.sh ended but no linuxmain process runs; see "
                            f"{home}/SMS-Agent/agent/Logs on the source")


async def agent_status(source: Connector, home: str = AGENT_HOME) -> dict[str, Any]:
    """{state: running|stopped|absent, pid}: whether the SMS-Agent process runs on the source."""
    res = (await source.run(render("status", home=home), timeout=60)).check()
    words = res.stdout.split()
    return {"state": words[0] if words else "absent", "pid": int(words[1]) if len(words) > 1 else None}


async def agent_state(source: HostAccess) -> dict[str, Any]:
    """The agent's status on a source, over a connection of its own (agent_status on an open one)."""
    from mgc_iac.ssh._ssh import SSHConnector

    async with SSHConnector(source.settings, name=source.name) as src:
        return await agent_status(src)


async def uninstall_agent(source: Connector, home: str = AGENT_HOME) -> bool:
    """SourceClear: shutdown.sh, then remove SMS-Agent/ (SMS.0609 otherwise: an older agent left on the
    source); False when none was installed."""
    res = (await source.run(render("uninstall", home=home), timeout=120)).check()
    return res.stdout.strip().endswith("removed")
