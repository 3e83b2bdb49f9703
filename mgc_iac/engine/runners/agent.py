"""The SSH side of a server's steps: prechecks (CreateTarget), the SMS-Agent (StartUpAgent), its liveness
(StartMigration / StartSynchronization), mgc-iac's own verification (VerifyConsistency) and the agent's removal
(SourceClear). The controller only orchestrates: the agent runs ON the source (Huawei's SMS-Agent on Huawei
Cloud, the lab's package in the lab; one install path, mgc_iac.lab.agent's template and prompt dialog), registers the
source with SMS and copies to the target as SMS commands it.

Who starts the agent is the source's `agent:` (mgc_iac.stack.models.Source.agent_installer): `mgc-iac` installs
and starts it over SSH; `preinstalled` (Windows: SMS-Agent-Py3.exe, or a Linux source this machine cannot log in
to) means the user did, and StartUpAgent waits for the source to register with SMS, matched by its MAC and IP.

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

from mgc_iac.cloud import sms_region
from mgc_iac.engine.steps import StepContext
from mgc_iac.errors import MgcIacError, SSHError
from mgc_iac.providers import PROBE_SECONDS, start_agent, workflow_enterprise_project
from mgc_iac.ssh import (
    HostAccess,
    HostFacts,
    MigrationHosts,
    Requirements,
    SSHConnector,
    facts_summary,
    gather_facts,
    port_reachable,
    run_prechecks,
)
from mgc_iac.ssh.agent import AgentPackage, agent_state, uninstall_agent
from mgc_iac.stack import agent_installer

PREINSTALLED_POLL_SECONDS = 5.0
# what the SMS-Agent's copy leaves out besides the task's excludes (mgc_iac.lab.agent.linuxmain: the pseudo file
# systems, and the target's authorized_keys, where SMS's transfer key lives): never compared by mgc-iac's verification
AGENT_COPY_EXCLUDES = ("/proc", "/sys", "/dev", "/run", "/tmp", "/root/.ssh/authorized_keys")


def _installer(source: dict[str, Any]) -> str:
    return agent_installer(source.get("agent"), source.get("os"))


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
        self.poll_seconds = 0.5 if cloud_config.get("provider") == "lab" else PREINSTALLED_POLL_SECONDS

    def _source(self, ctx: StepContext) -> HostAccess | None:
        """The source over SSH when mgc-iac runs its agent (a preinstalled agent is the user's: not touched)."""
        if _installer(self._spec_source(ctx)) == "preinstalled":
            return None
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
        """rsync (install when asked), then the SMS-Agent installed and started ON the source, its startup.sh
        answered prompt by prompt; returns once SMS has the source registered (found by the MAC the agent
        reports). A preinstalled agent: wait for it to register (wait_preinstalled)."""
        spec = self._spec_source(ctx)
        if _installer(spec) == "preinstalled":
            return self.wait_preinstalled(ctx, spec)
        source = self._source(ctx)
        if source is None:
            return None
        return start_agent(source, self.cloud_config, self._network(ctx), str(spec.get("mac", "")),
                           bool(task_attrs.get("install_rsync")), ctx.server.server,
                           enterprise_project=self._enterprise_project(ctx))

    def _enterprise_project(self, ctx: StepContext) -> str:
        wf = next((w for w in ctx.spec.get("workflows", []) if w.get("name") == ctx.server.workflow), {})
        return workflow_enterprise_project(wf)

    def wait_preinstalled(self, ctx: StepContext, spec: dict[str, Any]) -> dict[str, Any]:
        """A source whose agent the user installed: wait until SMS has it registered and connected, matched by
        its MAC AND its IP (a registration with only one of them is reported, not taken); a clear timeout."""
        from mgc_iac.cloud import Cloud, settings_for

        mac, ip = str(spec.get("mac", "")).lower(), str(spec.get("ip", ""))
        minutes = float(spec.get("agent_wait_minutes") or 60)
        cloud = Cloud(settings_for(self.cloud_config))
        deadline = time.monotonic() + minutes * 60
        started = time.monotonic()
        partial: list[str] = []
        while True:
            found, partial = match_registered(cloud, mac, ip)
            if found is not None and found.connected:
                return {"agent": "sms-agent", "agent_installed_by": "user (preinstalled)", "source_id": found.id,
                        "registered_as": found.name, "matched_by": {"mac": mac, "ip": ip},
                        "waited_seconds": round(time.monotonic() - started, 1)}
            if ctx.cancel is not None and ctx.cancel.is_set():
                raise SSHError(f"stopped while waiting for the SMS-Agent of {ctx.server.server} to register")
            if time.monotonic() > deadline:
                found, partial = match_registered(cloud, mac, ip, scan_all=True)
                seen = f"; registered but not matching both: {'; '.join(partial)}" if partial else ""
                disconnected = " (registered, but its agent is not connected)" if found is not None else ""
                raise SSHError(f"the SMS-Agent of {ctx.server.server} did not register with SMS within {minutes:g} "
                               f"min{disconnected}: {how_to_install(spec)}; SMS must see MAC {mac} and IP {ip} "
                               f"(the stack's `mac:` and `ip:`){seen}. Then run `mgc-iac apply` again (raise "
                               "`agent_wait_minutes` to wait longer)")
            if ctx.progress is not None:
                ctx.progress({"phase": "waiting for the preinstalled SMS-Agent to register",
                              "waited_seconds": round(time.monotonic() - started), "timeout_minutes": minutes})
            time.sleep(self.poll_seconds)

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

    # ---- VerifyConsistency ---------------------------------------------------------------------------------

    def verify(self, ctx: StepContext, task_attrs: dict[str, Any]) -> dict[str, Any] | None:
        """mgc-iac's OWN verification, with the stack's policy (hash or size+mtime, include and exclude paths),
        computed ON the source and ON the target over SSH (mgc_iac.ssh.verify); None when this machine does not
        reach both (then SMS's own check is what there is: runners/cloud.py). Raises VerificationFailedError."""
        from mgc_iac.engine.runners.sms_task import VerificationFailedError
        from mgc_iac.ssh import verify_paths

        source = self._source(ctx)
        if source is None or self.hosts.target_endpoint(ctx.server.target_name) is None:
            return None
        target = self.hosts.target(ctx.server.target_name)
        policy = task_attrs.get("verify") or {}
        mode = "hash" if policy.get("hash") else "size_mtime"
        include = list(policy.get("include_paths") or ())
        # what the copy left out is not on the target: never counted (the agent's own excludes, the copy's,
        # and in the lab the paths every lab host shares with this machine: the host's shared_paths)
        excludes = [*AGENT_COPY_EXCLUDES, *(task_attrs.get("copy_exclude_paths") or ()),
                    *(policy.get("exclude_paths") or ()), *source.shared_paths]

        async def go() -> list[tuple[str, Any]]:
            async with SSHConnector(source.settings, name=source.name) as src, \
                    SSHConnector(target.settings, name=target.name) as dst:
                return [(path, await verify_paths(src, dst, [path], exclude_paths=excludes, mode=mode,
                                            default_excludes=not include)) for path in include or ["/"]]

        checked = asyncio.run(go())
        rows = [{"dir": path, "total": r.total, "different": r.different, "missing": r.missing_on_target,
                 "extra": r.extra_on_target} for path, r in checked]
        verification = {"engine": "mgc-iac", "by": f"mgc-iac over SSH on {source.name} and {target.name}",
                        "mode": mode, "exclude_paths": list(policy.get("exclude_paths") or ()),
                        "clean": all(r.consistent for _, r in checked), "results": rows}
        if not any(r["total"] for r in rows):  # 0 files compared proves nothing (sms_task.verify's rule too)
            raise VerificationFailedError(f"nothing compared: mgc-iac's verification compared 0 files "
                                          f"({', '.join(r['dir'] for r in rows)}); check that the include paths "
                                          "exist on the source and hold files, then retry",
                                          {"verification": {**verification, "clean": False}})
        if not verification["clean"]:
            first = [f"{d.kind} {d.path}" for _, r in checked for d in r.paths][:10]
            lines = ", ".join(f"{r['dir']}: {r['different']} different, {r['missing']} missing, {r['extra']} extra"
                              for r in rows if r["different"] or r["missing"] or r["extra"])
            raise VerificationFailedError(f"mgc-iac's verification ({mode}) found the target differs from the source "
                                          f"({lines}; first: {'; '.join(first)}); synchronize again, then retry",
                                          {"verification": {**verification, "first_differences": first}})
        return {"checked_dirs": [p for p, _ in checked], "files": sum(r.total for _, r in checked),
                "verification": verification}

    # ---- SourceClear ---------------------------------------------------------------------------------------

    def clear(self, ctx: StepContext) -> dict[str, Any] | None:
        """Stop the SMS-Agent on the source and uninstall it: shutdown.sh, then SMS-Agent/ removed (its keys go
        with it). A preinstalled agent is the user's: left as it is, and the detail says so."""
        spec = self._spec_source(ctx)
        if _installer(spec) == "preinstalled":
            return {"agent_removed": False, "agent_left": "installed by you: uninstall it on the source when you "
                    "no longer need it (" + ("Windows: uninstall SMS-Agent in Programs and Features" if
                                             spec.get("os") == "windows" else "Linux: ./shutdown.sh in SMS-Agent/, "
                                             "then remove SMS-Agent/") + "); SMS.0609 otherwise on the next migration"}
        source = self._source(ctx)
        if source is None:
            return None

        async def go() -> bool:
            async with SSHConnector(source.settings, name=source.name) as src:
                return await uninstall_agent(src)

        return {"agent_removed": asyncio.run(go())}


def how_to_install(spec: dict[str, Any]) -> str:
    """Who installs a preinstalled agent, and how (what the plan and a timeout say)."""
    if spec.get("os") == "windows":
        return ("install SMS-Agent-Py3.exe (Huawei's Windows installer, from the SMS console) on the source, give it "
                "the AK/SK and SMS domain, and its proxy in the installer (or config\\auth.cfg) when the source "
                "reaches SMS through one")
    return ("run the SMS console's install command on the source (it downloads SMS-Agent.tar.gz, checks its "
            ".sha256 and runs ./startup.sh); put the proxy in SMS-Agent/agent/config/auth.cfg [proxy-config] when "
            "the source reaches SMS through one")


def match_registered(cloud: Any, mac: str, ip: str, *, scan_all: bool = False) -> tuple[Any, list[str]]:
    """(the SMS source with this MAC and this IP, or None; the sources matching only one of them). The sources
    listed with this IP are confirmed by their MACs (show_server); `scan_all` also looks for the MAC elsewhere."""
    partial: list[str] = []
    for listed in cloud.sms.list_sources():
        if listed.ip != ip and not scan_all:
            continue
        source = cloud.sms.show_source(listed.id)
        has_mac = mac in (m.lower() for m in source.macs)
        if has_mac and source.ip == ip:
            return source, partial
        if has_mac or source.ip == ip:
            partial.append(f"{source.name} (MACs {', '.join(source.macs) or 'none'}, IP {source.ip})")
    return None, partial
