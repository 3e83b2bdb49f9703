"""StartUpAgent's work on one source: rsync (installed when allowed), Huawei's SMS-Agent installed and started ON
the source (its startup.sh answered prompt by prompt over the SSH channel), then the wait until SMS has the source
registered (found by a MAC the agent reports, connected). The engine's StartUpAgent step runs it
(mgc_iac/engine/runners/agent.py); under Pulumi the migration task's create runs it when SMS does not know the
source yet (`ensure_agent_for_task`), so `pulumi up` on a fresh stack creates the tasks too; never for a source
whose agent is `preinstalled` (the user's). Both ways it is idempotent: a running agent of the same package is
kept (install_agent), and a registered source is found at once.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from mgc_iac.errors import CloudNotFoundError, SSHError
from mgc_iac.ssh import HostAccess, HostFacts, SSHConnector, facts_summary, gather_facts
from mgc_iac.ssh.agent import AGENT_DIR, AgentPackage, StartupAnswers, agent_state, install_agent, startup_answers

REGISTER_TIMEOUT_SECONDS = 90.0
PROBE_SECONDS = 2.0
_INSTALL = {"apt-get": "apt-get install -y rsync", "apt": "apt-get install -y rsync", "yum": "yum install -y rsync",
            "dnf": "dnf install -y rsync", "zypper": "zypper install -y rsync"}





def workflow_enterprise_project(workflow: dict[str, Any]) -> str:
    """The enterprise project's NAME the agent registers in (startup.sh lists them by name): the workflow's
    advanced.enterprise_project, else "default"."""
    return str((workflow.get("advanced") or {}).get("enterprise_project") or "default")


def start_agent(source: HostAccess, cloud_config: dict[str, Any], network: dict[str, Any], declared_mac: str,
                install_rsync: bool, server: str, *, enterprise_project: str = "default") -> dict[str, Any]:
    """Start the SMS-Agent on `source` (its startup.sh answered prompt by prompt: mgc_iac.ssh.agent) and wait
    until SMS has it registered; the step detail to record (no secret: the keys are never in it)."""
    from mgc_iac.cloud import settings_for, sms_agent_domain, sms_region

    settings = settings_for(cloud_config)
    answers = startup_answers(settings.ak, settings.sk, sms_agent_domain(settings, cloud_config),
                              security_token=settings.security_token, enterprise_project=enterprise_project)
    package = AgentPackage.for_stack(cloud_config, network, sms_region(settings))
    facts, started, installed = asyncio.run(_start(source, package, answers, install_rsync))
    macs = [m.lower() for m in facts.macs] or [declared_mac.lower()]
    source_id = wait_registered(source, settings, macs, facts.hostname or server)
    detail = {"agent": "sms-agent", "agent_installed_by": "mgc-iac", "agent_dir": AGENT_DIR,
              "agent_state": started["state"], "agent_pid": started["pid"], "package_url": package.url,
              "package_sha256": started["sha256"], "startup_prompts": started.get("prompts", []),
              "sms_domain": answers.domain, "enterprise_project": answers.enterprise_project,
              "source_id": source_id, "facts": facts_summary(facts)}
    if package.proxy:
        detail["proxy"] = package.proxy.url
        detail["agent_proxy"] = f"auth.cfg [proxy-config] {package.proxy.host}:{package.proxy.port}"
    if installed:
        detail["rsync_installed"] = installed
    return detail


async def _start(source: HostAccess, package: AgentPackage, answers: StartupAnswers,
                 install_rsync: bool) -> tuple[HostFacts, dict[str, Any], str]:
    async with SSHConnector(source.settings, name=source.name) as src:
        facts = await gather_facts(src)
        installed = ""
        if not facts.rsync_present:
            installed = await _install_rsync(src, source, facts, install_rsync)
        return facts, await install_agent(src, package, answers), installed


def wait_registered(source: HostAccess, settings: Any, macs: list[str], name: str) -> str:
    """The SMS source whose MAC the agent reported, connected; the agent's death ends the wait."""
    from mgc_iac.cloud import Cloud
    from mgc_iac.providers._sources import find_source

    cloud = Cloud(settings)
    deadline = time.monotonic() + REGISTER_TIMEOUT_SECONDS
    last_probe = time.monotonic()
    while True:
        for mac in macs:
            try:
                found = find_source(cloud, mac, name)
            except CloudNotFoundError:
                continue
            if found.connected:
                return str(found.id)
        if time.monotonic() - last_probe >= PROBE_SECONDS:
            last_probe = time.monotonic()
            if asyncio.run(agent_state(source))["state"] != "running":
                raise SSHError(f"the SMS-Agent on {source.name} stopped before it registered with SMS: see "
                               f"{AGENT_DIR}/agent/Logs on the source")
        if time.monotonic() > deadline:
            raise SSHError(f"the SMS-Agent on {source.name} runs but did not register with SMS within "
                           f"{REGISTER_TIMEOUT_SECONDS:.0f} s: check that the source reaches the SMS endpoint "
                           "(through the proxy, if any) and the keys' permissions; its log is in "
                           f"{AGENT_DIR}/agent/Logs")
        time.sleep(0.2)


async def _install_rsync(src: SSHConnector, source: HostAccess, facts: HostFacts, allowed: bool) -> str:
    command = _INSTALL.get(facts.package_manager or "")
    if not allowed:
        raise SSHError(f"rsync is missing on {source.name} and install_rsync is off: run "
                       f"`{command or 'your package manager to install rsync'}` there, or set "
                       "advanced.install_rsync: true")
    if command is None:
        raise SSHError(f"rsync is missing on {source.name} and no apt/yum/dnf/zypper was found: install it "
                       "by hand")
    if source.lab:
        raise SSHError(f"rsync is missing on the lab host {source.name}; a lab host cannot install packages "
                       f"(on a real source mgc-iac would run `{command}`): declare `rsync: true` for it in "
                       "lab-seed.yaml")
    sudo = "" if facts.is_root else "sudo -n "
    res = await src.run(f"{sudo}{command}", timeout=900)
    if not res.ok:
        raise SSHError(f"`{command}` failed on {source.name}: {res.stderr.strip()[-400:]}")
    return command



# ---- under Pulumi: the migration task's create ------------------------------------------------------------

def project_root(start: Path | None = None) -> Path | None:
    """The nearest directory up from `start` (the provider's working directory) that holds Pulumi.yaml."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "Pulumi.yaml").is_file() or (directory / "Pulumi.yml").is_file():
            return directory
    return None


def ensure_agent_for_task(props: dict[str, Any], stack_setting: str | None) -> bool:
    """Under Pulumi, SMS does not know the task's source yet: start its agent as StartUpAgent does, from the
    stack of `mgc-iac:stack` (relative to Pulumi.yaml). False when it cannot be started from here (no stack
    configured, or a source mgc-iac does not reach over SSH): the caller raises SMS's answer then."""
    from mgc_iac.cloud import lab_dir_of, lab_finishes_copies, lab_seed
    from mgc_iac.lab.host_access import SeedLabHosts
    from mgc_iac.ssh import MigrationHosts
    from mgc_iac.stack import agent_installer, load_stack

    if not stack_setting:
        return False
    path = Path(stack_setting).expanduser()
    root = project_root()
    stack_dir = path if path.is_absolute() or root is None else root / path
    loaded = load_stack(stack_dir)
    spec = loaded.canonical
    workflow, server = props["address"].split("/")[:2]
    declared = next((s for s in spec.get("sources", []) if s.get("name") == server), {})
    if agent_installer(declared.get("agent"), declared.get("os")) == "preinstalled":
        return False  # the user's agent: SMS knows the source once it registers (StartUpAgent waits for it)
    config = props["cloud"]
    seed = lab_seed(loaded.directory) if config.get("provider") == "lab" and config.get("lab_dir") else None
    # the lab hosts as they run (the program's workspace started them): a provider never starts them
    lab_hosts = SeedLabHosts(seed, lambda: lab_dir_of(config), lambda: lab_finishes_copies(config)) \
        if seed is not None else None
    hosts = MigrationHosts(spec, lab_hosts)
    source = hosts.source(server)
    if source is None:
        return False
    flow = next((w for w in spec.get("workflows", []) if w.get("name") == workflow), {})
    start_agent(source, props["cloud"], dict(flow.get("network") or {}), str(props.get("source_mac") or ""),
                bool(props.get("install_rsync")), server, enterprise_project=workflow_enterprise_project(flow))
    return True
