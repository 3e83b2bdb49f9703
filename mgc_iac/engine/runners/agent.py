"""The SSH side of a server's steps: prechecks (CreateTarget), the SMS-Agent (StartUpAgent), its liveness
(StartMigration / StartSynchronization) and its removal (SourceClear). The controller only orchestrates: the
agent runs ON the source (Huawei's SMS-Agent on Huawei Cloud, the lab's package in the lab; one install path,
mgc_iac.lab.agent's template), registers the source with SMS and copies to the target as SMS commands it.

Runner methods are synchronous (worker threads): each SSH exchange runs in its own short asyncio loop.
What the agent copies is the agent's business: the source's "/" minus the pseudo filesystems, its own
directory and the task's MIGRATE_EXCLUDE_DIR / SYNC_EXCLUDE_DIR (the workflow's advanced.copy_exclude_paths;
and, in the lab, the paths every lab host shares read-only with this machine: the lab package's
config/excludes). Verification excludes never leave anything out of the copy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from mgc_iac.engine.steps import StepContext
from mgc_iac.errors import CloudNotFoundError, MgcIacError, SSHError
from mgc_iac.ssh import HostFacts, Requirements, SSHConnector, gather_facts, port_reachable, run_prechecks
from mgc_iac.ssh.agent import AGENT_DIR, AgentPackage, agent_status, install_agent, startup_answers, uninstall_agent
from mgc_iac.ssh.hosts import HostAccess, MigrationHosts

REGISTER_TIMEOUT_SECONDS = 90.0
PROBE_SECONDS = 2.0
_INSTALL = {"apt-get": "apt-get install -y rsync", "apt": "apt-get install -y rsync", "yum": "yum install -y rsync",
            "dnf": "dnf install -y rsync", "zypper": "zypper install -y rsync"}


class PrecheckFailed(SSHError):
    """A source failed its prechecks; `step_detail` carries every check (recorded with the failed step)."""

    def __init__(self, message: str, step_detail: dict[str, Any]) -> None:
        super().__init__(message)
        self.step_detail = step_detail


class AgentGoneError(SSHError):
    """The agent on a source is gone (the source rebooted): only a Full Retry starts it again."""


def retry_advice(ctx: StepContext, source: str) -> str:
    ws = f"{ctx.server.workflow}/{ctx.server.server}"
    return (f"the agent on {source} is gone: `mgc-iac retry --full <stack dir of {ctx.stack}> {ws}` (the source "
            f"rebooted) or `mgc-iac retry <stack dir of {ctx.stack}> {ws}` after the network is back")


def facts_summary(facts: HostFacts) -> dict[str, Any]:
    """What the step detail records about a source (no secret: no keys, no users' data)."""
    free = facts.free_kb.get("/")
    return {"hostname": facts.hostname, "os": f"{facts.os.id} {facts.os.version_id}".strip(),
            "cpus": facts.cpu_count, "memory_mb": facts.memory_total_kb // 1024,
            "memory_available_mb": int(facts.memory_available_mb), "macs": list(facts.macs),
            "rsync": facts.rsync_present, "package_manager": facts.package_manager,
            "free_root_gb": round(free / 1024 / 1024, 2) if free is not None else None}


def _gather(access: HostAccess) -> HostFacts:
    async def go() -> HostFacts:
        async with SSHConnector(access.settings, name=access.name) as host:
            return await gather_facts(host)

    return asyncio.run(go())



def _sms_region(settings: Any) -> str:
    """The region of the SMS endpoint the agent talks to (SMS is global: its endpoint's region, not the target's)."""
    host = settings.endpoint("sms").split("://", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    return parts[1] if len(parts) > 3 and parts[0] == "sms" else settings.region


class AgentSide:
    """The SSH half of CloudSteps for one apply (None from each method: the source is not over SSH)."""

    def __init__(self, hosts: MigrationHosts, cloud_config: dict[str, Any]) -> None:
        self.hosts = hosts
        self.cloud_config = cloud_config

    def _source(self, ctx: StepContext) -> HostAccess | None:
        return self.hosts.source(ctx.server.server)

    def _spec_source(self, ctx: StepContext) -> dict[str, Any]:
        return next(s for s in ctx.spec.get("sources", []) if s["name"] == ctx.server.server)

    def _network(self, ctx: StepContext) -> dict[str, Any]:
        wf = next((w for w in ctx.spec.get("workflows", []) if w.get("name") == ctx.server.workflow), {})
        return dict(wf.get("network") or {})

    # ---- CreateTarget --------------------------------------------------------------------------------------

    def precheck(self, ctx: StepContext, task_attrs: dict[str, Any]) -> dict[str, Any] | None:
        """Facts and prechecks before any cloud resource; raises PrecheckFailed on a failing check."""
        source = self._source(ctx)
        if source is None:
            return None
        target = self.hosts.target_endpoint(ctx.server.target_name)
        facts = _gather(source)
        # the migration port is checked where this machine can reach the target (the lab); else on the cloud
        reachable = asyncio.run(port_reachable(target.host, target.port)) if target is not None else None
        spec = self._spec_source(ctx)
        req = Requirements(os=spec.get("os", "linux"), install_rsync=bool(task_attrs.get("install_rsync")),
                           migration_port=target.port if target is not None else int(
                               task_attrs.get("migration_port") or 22),
                           migration_port_reachable=reachable)
        checks = run_prechecks(facts, req)
        mac = str(spec.get("mac", "")).lower()
        if mac and mac not in (m.lower() for m in facts.macs):
            from mgc_iac.ssh import PrecheckResult

            checks.append(PrecheckResult("mac", "fail", f"declared MAC {mac} is not on the host "
                                         f"({', '.join(facts.macs) or 'none found'})",
                                         "correct `mac:` of this source in the stack spec (SMS finds it by MAC)"))
        detail: dict[str, Any] = {"facts": facts_summary(facts),
                                  "prechecks": [{"name": c.name, "status": c.status, "detail": c.detail,
                                                 **({"remedy": c.remedy} if c.remedy else {})} for c in checks]}
        warnings = [f"{c.name}: {c.detail}" + (f" ({c.remedy})" if c.remedy else "") for c in checks
                    if c.status == "warn"]
        if warnings:
            detail["warnings"] = warnings
        failed = [c for c in checks if c.status == "fail"]
        if failed:
            lines = "; ".join(f"{c.name}: {c.detail} -> {c.remedy or 'fix it on the source'}" for c in failed)
            raise PrecheckFailed(f"prechecks failed on {source.name} (nothing was created): {lines}", detail)
        return detail

    # ---- StartUpAgent --------------------------------------------------------------------------------------

    def package(self, ctx: StepContext, settings: Any) -> AgentPackage:
        return AgentPackage.for_stack(self.cloud_config, self._network(ctx), _sms_region(settings))

    def start(self, ctx: StepContext, task_attrs: dict[str, Any]) -> dict[str, Any] | None:
        """rsync (install when asked), then the SMS-Agent installed and started ON the source with the keys on
        stdin; returns once SMS has the source registered (found by the MAC the agent reports)."""
        from mgc_iac.cloud.endpoint import settings_for

        source = self._source(ctx)
        if source is None:
            return None
        settings = settings_for(self.cloud_config)
        package = self.package(ctx, settings)
        facts, started, installed = asyncio.run(self._start_agent(source, package, startup_answers(settings),
                                                                  bool(task_attrs.get("install_rsync"))))
        spec = self._spec_source(ctx)
        macs = [m.lower() for m in facts.macs] or [str(spec.get("mac", "")).lower()]
        source_id = self._wait_registered(ctx, source, settings, macs, facts.hostname)
        detail = {"agent": "sms-agent", "agent_dir": AGENT_DIR, "agent_state": started["state"],
                  "agent_pid": started["pid"], "package_url": package.url, "package_sha256": started["sha256"],
                  "source_id": source_id, "facts": facts_summary(facts)}
        if package.proxy:
            detail["proxy"] = package.proxy
        if installed:
            detail["rsync_installed"] = installed
        return detail

    async def _start_agent(self, source: HostAccess, package: AgentPackage, answers: str,
                           install_rsync: bool) -> tuple[HostFacts, dict[str, Any], str]:
        async with SSHConnector(source.settings, name=source.name) as src:
            facts = await gather_facts(src)
            installed = ""
            if not facts.rsync_present:
                installed = await self._install_rsync(src, source, facts, install_rsync)
            return facts, await install_agent(src, package, answers), installed

    def _wait_registered(self, ctx: StepContext, source: HostAccess, settings: Any, macs: list[str],
                         hostname: str) -> str:
        """The SMS source whose MAC the agent reported, connected; the agent's death ends the wait."""
        from mgc_iac.cloud import Cloud
        from mgc_iac.providers.migration_task import find_source

        cloud = Cloud(settings)
        deadline = time.monotonic() + REGISTER_TIMEOUT_SECONDS
        last_probe = time.monotonic()
        while True:
            for mac in macs:
                try:
                    found = find_source(cloud, mac, hostname or ctx.server.server)
                except CloudNotFoundError:
                    continue
                if found.connected:
                    return str(found.id)
            if time.monotonic() - last_probe >= PROBE_SECONDS:
                last_probe = time.monotonic()
                if asyncio.run(self._status(source))["state"] != "running":
                    raise SSHError(f"the SMS-Agent on {source.name} stopped before it registered with SMS: see "
                                   f"{AGENT_DIR}/log on the source")
            if time.monotonic() > deadline:
                raise SSHError(f"the SMS-Agent on {source.name} runs but did not register with SMS within "
                               f"{REGISTER_TIMEOUT_SECONDS:.0f} s: check that the source reaches the SMS endpoint "
                               f"(through the proxy, if any) and the keys' permissions; its log is in {AGENT_DIR}/log")
            time.sleep(0.2)

    @staticmethod
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

    @staticmethod
    async def _status(source: HostAccess) -> dict[str, Any]:
        async with SSHConnector(source.settings, name=source.name) as src:
            return await agent_status(src)

    # ---- StartMigration / StartSynchronization -------------------------------------------------------------

    def ensure_agent(self, ctx: StepContext) -> Callable[[], bool] | None:
        """A liveness probe of the SMS-Agent on the source for a wait (at most one SSH check every 2 s; a source
        it cannot reach counts as alive: a network cut is not a reboot). An agent that is not running raises
        AgentGoneError now: only a Full Retry (StartUpAgent again) starts it."""
        source = self._source(ctx)
        if source is None:
            return None
        if not self._running(source, default=True):
            raise AgentGoneError(retry_advice(ctx, source.name))
        last = [time.monotonic(), True]

        def alive() -> bool:
            if time.monotonic() - last[0] >= PROBE_SECONDS:
                last[:] = [time.monotonic(), self._running(source, default=True)]
            return bool(last[1])

        return alive

    def _running(self, source: HostAccess, *, default: bool) -> bool:
        try:
            return asyncio.run(self._status(source))["state"] == "running"
        except (MgcIacError, OSError):
            return default

    def gone(self, ctx: StepContext) -> bool:
        source = self._source(ctx)
        return source is not None and not self._running(source, default=True)

    # ---- SourceClear ---------------------------------------------------------------------------------------

    def clear(self, ctx: StepContext) -> dict[str, Any] | None:
        """Stop the SMS-Agent on the source and uninstall it (its keys go with its directory)."""
        source = self._source(ctx)
        if source is None:
            return None

        async def go() -> bool:
            async with SSHConnector(source.settings, name=source.name) as src:
                return await uninstall_agent(src)

        return {"agent_removed": asyncio.run(go())}
