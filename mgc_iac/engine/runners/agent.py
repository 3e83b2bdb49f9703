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

from mgc_iac.engine.steps import StepContext
from mgc_iac.errors import CloudNotFoundError, MgcIacError, SSHError
from mgc_iac.ssh import HostFacts, Requirements, SSHConnector, gather_facts, port_reachable, run_prechecks
from mgc_iac.ssh.agent import AGENT_DIR, AgentPackage, agent_status, install_agent, uninstall_agent
from mgc_iac.ssh.agent._dialog import StartupAnswers
from mgc_iac.ssh.agent._startup import startup_answers
from mgc_iac.ssh.hosts import HostAccess, MigrationHosts

REGISTER_TIMEOUT_SECONDS = 90.0
PROBE_SECONDS = 2.0
PREINSTALLED_POLL_SECONDS = 5.0
# what the SMS-Agent's copy leaves out besides the task's excludes (mgc_iac.lab.agent.linuxmain: the pseudo file
# systems, and the target's authorized_keys, where SMS's transfer key lives): never compared by mgc-iac's verification
AGENT_COPY_EXCLUDES = ("/proc", "/sys", "/dev", "/run", "/tmp", "/root/.ssh/authorized_keys")
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


def installer(source: dict[str, Any]) -> str:
    """mgc-iac | preinstalled for a source of the spec (see Source.agent_installer)."""
    return str(source.get("agent") or ("preinstalled" if source.get("os") == "windows" else "mgc-iac"))


class AgentSide:
    """The SSH half of CloudSteps for one apply (None from each method: the source is not over SSH)."""

    def __init__(self, hosts: MigrationHosts, cloud_config: dict[str, Any]) -> None:
        self.hosts = hosts
        self.cloud_config = cloud_config
        self.poll_seconds = 0.5 if cloud_config.get("provider") == "lab" else PREINSTALLED_POLL_SECONDS

    def _source(self, ctx: StepContext) -> HostAccess | None:
        """The source over SSH when mgc-iac runs its agent (a preinstalled agent is the user's: not touched)."""
        if installer(self._spec_source(ctx)) == "preinstalled":
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
        return AgentPackage.for_stack(self.cloud_config, self._network(ctx), _sms_region(settings))

    def start(self, ctx: StepContext, task_attrs: dict[str, Any]) -> dict[str, Any] | None:
        """rsync (install when asked), then the SMS-Agent installed and started ON the source, its startup.sh
        answered prompt by prompt; returns once SMS has the source registered (found by the MAC the agent
        reports). A preinstalled agent: wait for it to register (wait_preinstalled)."""
        from mgc_iac.cloud.endpoint import settings_for

        spec = self._spec_source(ctx)
        if installer(spec) == "preinstalled":
            return self.wait_preinstalled(ctx, spec)
        source = self._source(ctx)
        if source is None:
            return None
        settings = settings_for(self.cloud_config)
        answers = startup_answers(settings, self.cloud_config, self._enterprise_project(ctx))
        package = self.package(ctx, settings)
        facts, started, installed = asyncio.run(self._start_agent(source, package, answers,
                                                                  bool(task_attrs.get("install_rsync"))))
        macs = [m.lower() for m in facts.macs] or [str(spec.get("mac", "")).lower()]
        source_id = self._wait_registered(ctx, source, settings, macs, facts.hostname)
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

    def _enterprise_project(self, ctx: StepContext) -> str:
        wf = next((w for w in ctx.spec.get("workflows", []) if w.get("name") == ctx.server.workflow), {})
        return str((wf.get("advanced") or {}).get("enterprise_project") or "default")

    def wait_preinstalled(self, ctx: StepContext, spec: dict[str, Any]) -> dict[str, Any]:
        """A source whose agent the user installed: wait until SMS has it registered and connected, matched by
        its MAC AND its IP (a registration with only one of them is reported, not taken); a clear timeout."""
        from mgc_iac.cloud import Cloud
        from mgc_iac.cloud.endpoint import settings_for

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

    async def _start_agent(self, source: HostAccess, package: AgentPackage, answers: StartupAnswers,
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
        from providers.migration_task import find_source

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
                                   f"{AGENT_DIR}/agent/Logs on the source")
            if time.monotonic() > deadline:
                raise SSHError(f"the SMS-Agent on {source.name} runs but did not register with SMS within "
                               f"{REGISTER_TIMEOUT_SECONDS:.0f} s: check that the source reaches the SMS endpoint "
                               "(through the proxy, if any) and the keys' permissions; its log is in "
                               f"{AGENT_DIR}/agent/Logs")
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

    # ---- VerifyConsistency ---------------------------------------------------------------------------------

    def verify(self, ctx: StepContext, task_attrs: dict[str, Any]) -> dict[str, Any] | None:
        """mgc-iac's OWN verification, with the stack's policy (hash or size+mtime, include and exclude paths),
        computed ON the source and ON the target over SSH (mgc_iac.lab.agent._verify); None when this machine does not
        reach both (then SMS's own check is what there is: runners/cloud.py). Raises VerificationFailedError."""
        from mgc_iac.engine.runners.sms_task import VerificationFailedError
        from mgc_iac.lab.agent import verify

        source = self._source(ctx)
        if source is None or self.hosts.target_endpoint(ctx.server.target_name) is None:
            return None
        target = self.hosts.target(ctx.server.target_name)
        policy = task_attrs.get("verify") or {}
        mode = "hash" if policy.get("hash") else "size_mtime"
        include = list(policy.get("include_paths") or ())
        # what the copy left out is not on the target: never counted (the agent's own excludes, the copy's,
        # and in the lab the paths every lab host shares with this machine)
        excludes = [*AGENT_COPY_EXCLUDES, *(task_attrs.get("copy_exclude_paths") or ()),
                    *(policy.get("exclude_paths") or ())]
        if source.lab:
            from mgc_iac.lab.sms_agent._build import LAB_EXCLUDES

            excludes += LAB_EXCLUDES

        async def go() -> list[tuple[str, Any]]:
            async with SSHConnector(source.settings, name=source.name) as src, \
                    SSHConnector(target.settings, name=target.name) as dst:
                return [(path, await verify(src, dst, [path], exclude_paths=excludes, mode=mode,
                                            default_excludes=not include)) for path in include or ["/"]]

        checked = asyncio.run(go())
        rows = [{"dir": path, "total": r.total, "different": r.different, "missing": r.missing_on_target,
                 "extra": r.extra_on_target} for path, r in checked]
        verification = {"engine": "mgc-iac", "by": f"mgc-iac over SSH on {source.name} and {target.name}",
                        "mode": mode, "exclude_paths": list(policy.get("exclude_paths") or ()),
                        "clean": all(r.consistent for _, r in checked), "results": rows}
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
        if installer(spec) == "preinstalled":
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
