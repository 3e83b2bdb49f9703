"""The SSH side of a server's steps: prechecks (CreateTarget), the agent and its daemon (StartUpAgent), the
daemon's liveness (StartMigration / StartSynchronization) and the source clear (SourceClear).

Runner methods are synchronous (worker threads): each SSH exchange runs in its own short asyncio loop.

What the agent copies: the source's "/" minus
- the pseudo and volatile filesystems: /proc /sys /dev /run /tmp;
- the target user's ~/.ssh/authorized_keys (copying the source's would revoke the agent's own key on the
  target in the middle of the migration);
- the task's MIGRATE_EXCLUDE_DIR / SYNC_EXCLUDE_DIR (the workflow's advanced.copy_exclude_paths; the
  verification excludes never leave anything out of the copy);
- LAB ONLY: /usr, /etc/alternatives and the /bin /sbin /lib /lib64 links, which every lab host binds
  read-only from this machine (writing them on the target would fail or touch the machine), and the lab's
  own marker file /.mgc-lab-files.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mgc_iac.agent import AgentInstall, agent_running, start_agent, stop_agent
from mgc_iac.agent.daemon_ctl import (
    DaemonConfig,
    agent_run_dir,
    daemon_pid,
    daemon_status,
    read_config,
    settings_to_dict,
    start_daemon,
    stop_daemon,
)
from mgc_iac.connect_hosts import HostAccess, MigrationHosts, TargetAccess
from mgc_iac.engine.steps import StepContext
from mgc_iac.errors import SSHError
from mgc_iac.ssh import HostFacts, Requirements, SSHConnector, gather_facts, port_reachable, run_prechecks

CLEAR_WAIT_SECONDS = 5.0
PSEUDO_EXCLUDES = ("/proc", "/sys", "/dev", "/run", "/tmp")
LAB_EXCLUDES = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/etc/alternatives", "/.mgc-lab-files")
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


def copy_excludes(lab: bool, target_user: str) -> list[str]:
    home = "/root" if target_user == "root" else f"/home/{target_user}"
    return [*PSEUDO_EXCLUDES, f"{home}/.ssh/authorized_keys", *(LAB_EXCLUDES if lab else ())]


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


class AgentSide:
    """The SSH half of CloudSteps for one apply (None from each method: the source is not over SSH)."""

    def __init__(self, hosts: MigrationHosts, cloud_config: dict[str, Any]) -> None:
        self.hosts = hosts
        self.cloud_config = cloud_config

    def _source(self, ctx: StepContext) -> HostAccess | None:
        return self.hosts.source(ctx.server.server)

    def _target(self, ctx: StepContext) -> TargetAccess:
        return self.hosts.target(ctx.server.target_name)

    def run_dir(self, ctx: StepContext) -> Path:
        return agent_run_dir(self.cloud_config, ctx.stack, ctx.server.workflow, ctx.server.server)

    def _spec_source(self, ctx: StepContext) -> dict[str, Any]:
        return next(s for s in ctx.spec.get("sources", []) if s["name"] == ctx.server.server)

    # ---- CreateTarget --------------------------------------------------------------------------------------

    def precheck(self, ctx: StepContext, task_attrs: dict[str, Any]) -> dict[str, Any] | None:
        """Facts and prechecks before any cloud resource; raises PrecheckFailed on a failing check."""
        source = self._source(ctx)
        if source is None:
            return None
        target = self._target(ctx)
        facts = _gather(source)
        assert target.endpoint is not None
        reachable = asyncio.run(port_reachable(target.endpoint.host, target.endpoint.port))
        spec = self._spec_source(ctx)
        req = Requirements(os=spec.get("os", "linux"), install_rsync=bool(task_attrs.get("install_rsync")),
                           migration_port=target.endpoint.port, migration_port_reachable=reachable)
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

    def start(self, ctx: StepContext, task_attrs: dict[str, Any]) -> dict[str, Any] | None:
        """rsync (install when asked), the agent on the source, the daemon; the source registered with SMS."""
        source = self._source(ctx)
        if source is None:
            return None
        target = self._target(ctx)
        assert target.endpoint is not None
        endpoint = target.endpoint
        facts, install, installed = asyncio.run(self._start_agent(source, target, task_attrs))
        spec = self._spec_source(ctx)
        config = DaemonConfig(
            cloud=self.cloud_config, source_name=source.name, source=settings_to_dict(source.settings),
            target_name=target.name, target=settings_to_dict(target.settings),
            agent={**asdict(install), "target": asdict(endpoint)}, facts=self._register_facts(spec, facts),
            exclude=copy_excludes(source.lab or target.lab, endpoint.user))
        run_dir = self.run_dir(ctx)
        pid, source_id = start_daemon(run_dir, config)
        detail = {"agent": "ssh", "agent_dir": install.agent_dir, "agent_pid": install.pid,
                  "daemon_pid": pid, "run_dir": str(run_dir), "source_id": source_id,
                  "target_endpoint": f"{endpoint.host}:{endpoint.port}", "facts": facts_summary(facts)}
        if installed:
            detail["rsync_installed"] = installed
        return detail

    async def _start_agent(self, source: HostAccess, target: TargetAccess,
                           attrs: dict[str, Any]) -> tuple[HostFacts, AgentInstall, str]:
        assert target.endpoint is not None
        async with SSHConnector(source.settings, name=source.name) as src, \
                SSHConnector(target.settings, name=target.name) as tgt:
            facts = await gather_facts(src)
            installed = ""
            if not facts.rsync_present:
                installed = await self._install_rsync(src, source, facts, bool(attrs.get("install_rsync")))
            install = await start_agent(src, tgt, target.endpoint)
            return facts, install, installed

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
    def _register_facts(spec: dict[str, Any], facts: HostFacts) -> dict[str, Any]:
        gib = 1024 ** 3
        disks = [{"name": d.filesystem, "size": d.size_kb * 1024, "used_size": d.used_kb * 1024,
                  "device_use": "BOOT" if d.mount == "/" else "NORMAL"} for d in facts.disks if d.mount == "/"]
        if not disks:
            disks = [{"name": d["device"], "size": int(d["size_gb"] * gib), "used_size": int(d.get("used_gb", 0) * gib),
                      "device_use": "BOOT" if n == 0 else "NORMAL"} for n, d in enumerate(spec.get("disks", []))]
        macs = list(facts.macs) or [spec["mac"]]
        return {"name": spec["name"], "ip": str(spec["ip"]), "os_type": str(spec.get("os", "linux")).upper(),
                "macs": macs, "cpu_quantity": facts.cpu_count or int(spec.get("cpus", 1)),
                "memory_bytes": facts.memory_total_kb * 1024 or int(spec.get("memory_mb", 0)) * 1024 * 1024,
                "disks": disks, "os_version": f"{facts.os.id} {facts.os.version_id}".strip(),
                "agent_version": "mgc-iac-agent"}

    # ---- StartMigration / StartSynchronization -------------------------------------------------------------

    def ensure_daemon(self, ctx: StepContext) -> Callable[[], bool] | None:
        """The daemon's liveness probe for a wait; a daemon that died (this machine restarted) is started again
        from its run dir when the agent still runs on the source; a gone agent raises AgentGoneError."""
        source = self._source(ctx)
        if source is None:
            return None
        run_dir = self.run_dir(ctx)
        if daemon_pid(run_dir) is None:
            if daemon_status(run_dir).get("state") == "agent_gone":
                raise AgentGoneError(retry_advice(ctx, source.name))
            try:
                config = read_config(run_dir)
            except (OSError, ValueError) as exc:
                raise AgentGoneError(f"{retry_advice(ctx, source.name)} (no agent daemon recorded in {run_dir})") \
                    from exc
            if not asyncio.run(self._agent_runs(source, config.install())):
                raise AgentGoneError(retry_advice(ctx, source.name))
            start_daemon(run_dir, config)
        return lambda: daemon_pid(run_dir) is not None

    @staticmethod
    async def _agent_runs(source: HostAccess, install: AgentInstall) -> bool:
        async with SSHConnector(source.settings, name=source.name) as src:
            return await agent_running(src, install)

    def gone(self, ctx: StepContext) -> bool:
        return daemon_status(self.run_dir(ctx)).get("state") == "agent_gone"

    # ---- SourceClear ---------------------------------------------------------------------------------------

    def clear(self, ctx: StepContext) -> dict[str, Any] | None:
        """Stop the daemon, stop the agent on the source and remove its key from the target."""
        source = self._source(ctx)
        if source is None:
            return None
        run_dir = self.run_dir(ctx)
        deadline = time.monotonic() + CLEAR_WAIT_SECONDS
        while daemon_pid(run_dir) is not None and time.monotonic() < deadline:
            time.sleep(0.1)  # the daemon ends by itself on CLEAR
        stopped = stop_daemon(run_dir) or daemon_status(run_dir).get("state") == "stopped"
        target = self._target(ctx)
        removed = asyncio.run(self._stop_agent(source, target))
        return {"daemon_stopped": stopped, "agent_removed": removed}

    @staticmethod
    async def _stop_agent(source: HostAccess, target: TargetAccess) -> bool:
        from mgc_iac.agent import AGENT_DIR

        async with SSHConnector(source.settings, name=source.name) as src, \
                SSHConnector(target.settings, name=target.name) as tgt:
            res = await src.run(f"echo $(cat {AGENT_DIR}/pid 2>/dev/null); cat {AGENT_DIR}/id_ed25519.pub 2>/dev/null")
            lines = res.stdout.split("\n")
            public_key = lines[1].strip() if len(lines) > 1 else ""
            if not public_key:
                return False  # nothing installed any more (cleared before)
            assert target.endpoint is not None
            pid = int(lines[0]) if lines[0].strip().isdigit() else 0
            install = AgentInstall(AGENT_DIR, f"{AGENT_DIR}/id_ed25519", f"{AGENT_DIR}/known_hosts", public_key, pid,
                                   target.endpoint)
            await stop_agent(src, tgt, install)
            return True
