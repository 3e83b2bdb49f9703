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
from mgc_iac.errors import MgcIacError, SSHError
from mgc_iac.providers.source_agent import (
    PROBE_SECONDS,
    agent_state,
    facts_summary,
    sms_region,
    start_agent,
)
from mgc_iac.ssh import HostFacts, Requirements, SSHConnector, gather_facts, port_reachable, run_prechecks
from mgc_iac.ssh.agent import AgentPackage, uninstall_agent
from mgc_iac.ssh.hosts import HostAccess, MigrationHosts


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


def _gather(access: HostAccess) -> HostFacts:
    async def go() -> HostFacts:
        async with SSHConnector(access.settings, name=access.name) as host:
            return await gather_facts(host)

    return asyncio.run(go())



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
        return AgentPackage.for_stack(self.cloud_config, self._network(ctx), sms_region(settings))

    def start(self, ctx: StepContext, task_attrs: dict[str, Any]) -> dict[str, Any] | None:
        """rsync (install when asked), then the SMS-Agent installed and started ON the source with the keys on
        stdin; returns once SMS has the source registered (found by the MAC the agent reports)."""
        source = self._source(ctx)
        if source is None:
            return None
        return start_agent(source, self.cloud_config, self._network(ctx), str(self._spec_source(ctx).get("mac", "")),
                           bool(task_attrs.get("install_rsync")), ctx.server.server)

    @staticmethod
    async def _status(source: HostAccess) -> dict[str, Any]:
        return await agent_state(source)

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
