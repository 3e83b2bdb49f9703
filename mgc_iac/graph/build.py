"""spec -> graph: the desired resources and the ordered steps of every server."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from mgc_iac._gc import gc_paused
from mgc_iac.graph.kinds import MIGRATION_TASK, NOTIFICATION, TARGET_SERVER
from mgc_iac.graph.model import (
    DesiredResource,
    Graph,
    ServerNode,
    Step,
    StepKind,
    WorkflowNode,
)
from mgc_iac.stack import Source, Stack, Workflow, workflow_servers

# Estimates assume this per-server bandwidth when the workflow sets no limit (shown as "assumed").
ASSUMED_UNLIMITED_MBPS = 100.0
_SIZES = {1: "medium", 2: "large", 4: "xlarge", 8: "2xlarge", 16: "4xlarge", 32: "8xlarge", 64: "16xlarge"}


@lru_cache(maxsize=1024)  # a fleet has few distinct shapes: 10k servers, a handful of (CPUs, memory) pairs
def default_flavor(cpus: int, memory_mb: int) -> str:
    """The s6 flavor closest to the source's CPUs and memory (e.g. 2 CPUs, 4 GB -> s6.large.2)."""
    vcpus = min(_SIZES, key=lambda n: (n < cpus, abs(n - cpus)))
    ratio = min((1, 2, 4), key=lambda r: abs(r - memory_mb / 1024 / vcpus))
    return f"s6.{_SIZES[vcpus]}.{ratio}"


def build_graph(stack: Stack) -> Graph:
    """The desired graph of a stack whose rules passed."""
    with gc_paused():
        return _build_graph(stack)


def _build_graph(stack: Stack) -> Graph:
    selection = workflow_servers(stack)
    resources: dict[str, DesiredResource] = {}
    workflows = []
    made: dict[tuple[StepKind, bool, str], Step] = {}  # Steps are frozen: servers with the same words share one
    for position, wf in enumerate(stack.workflows):
        servers = selection[wf.name]
        steps = _WorkflowSteps(wf, _workflow_reasons(wf), made, stack.cloud.provider)
        shared = _Shared(wf)
        nodes = []
        for src in servers:
            target = _target_attrs(wf, src, shared)
            addr = f"{wf.name}/{src.name}"
            target_addr, task_addr = f"{addr}/{TARGET_SERVER}", f"{addr}/{MIGRATION_TASK}"  # one string each
            resources[target_addr] = DesiredResource(target_addr, TARGET_SERVER, wf.name, src.name, target)
            resources[task_addr] = DesiredResource(task_addr, MIGRATION_TASK, wf.name, src.name,
                                                   _task_attrs(wf, src, target, shared))
            nodes.append(_server_node(wf, src, target, len(servers), steps))
        if wf.advanced.notifications is not None:
            note = wf.advanced.notifications
            resources[f"{wf.name}/{NOTIFICATION}"] = DesiredResource(
                f"{wf.name}/{NOTIFICATION}", NOTIFICATION, wf.name, None,
                {"topic_urn": note.topic_urn, "language": note.language, "on": sorted(note.on)})
        workflows.append(WorkflowNode(wf.name, position, tuple(nodes)))
    return Graph(stack.metadata.name, tuple(workflows), resources, {m.to: m.from_ for m in stack.moved})


def _target_disks(wf: Workflow, src: Source) -> list[dict[str, Any]]:
    override = wf.servers.get(src.name)
    sizes = {d.device: d.size_gb for d in override.disks} if override else {}
    return [{"device": d.device, "size_gb": sizes.get(d.device, d.size_gb)} for d in src.disks]


class _Shared:
    """What a workflow gives every server's target and task attributes: read from its model once, not per server
    (collections are copied into each server's attributes, so none is shared between resources)."""

    def __init__(self, wf: Workflow) -> None:
        t, enc, adv, net, pol = wf.target, wf.encryption, wf.advanced, wf.network, wf.verification_policy
        self.target = (t.region, t.project, t.availability_zone, t.flavor, t.image, t.vpc, t.subnet, t.security_group,
                       t.volume_type)
        self.encryption = (("enabled", enc.enabled), ("key_id", enc.key_id), ("key_alias", enc.key_alias)) \
            if enc.enabled else (("enabled", False),)
        self.eip, self.retain_ip = net.type == "public", adv.retain_ip
        self.enterprise_project, self.start = adv.enterprise_project, adv.start_target_after_migration
        self.tags = tuple(sorted(adv.tags.items()))
        self.task = (wf.migration_port, net.type, f"{net.proxy.host}:{net.proxy.port}" if net.proxy else None,
                     adv.bandwidth_limit_mbps, not adv.quick_mode, adv.install_rsync)
        self.copy_exclude = tuple(adv.copy_exclude_paths)
        self.verify = (adv.verify_consistency or pol.hash, pol.hash, tuple(pol.include_paths), tuple(pol.exclude_paths))


def _target_attrs(wf: Workflow, src: Source, shared: _Shared | None = None) -> dict[str, Any]:
    shared = shared or _Shared(wf)
    override = wf.servers.get(src.name)
    region, project, zone, flavor, image, vpc, subnet, group, volume_type = shared.target
    return {
        "name": (override.target_name if override and override.target_name else src.name),
        "region": region,
        "project": project,
        "availability_zone": zone,
        "flavor": (override.flavor if override and override.flavor else flavor)
        or default_flavor(src.cpus, src.memory_mb),
        "image": image,
        "vpc": vpc,
        "subnet": subnet,
        "security_group": group,
        "volume_type": volume_type,
        "disks": _target_disks(wf, src),
        "encryption": dict(shared.encryption),
        "eip": shared.eip,
        "fixed_ip": str(src.ip) if shared.retain_ip else None,
        "enterprise_project": shared.enterprise_project,
        "tags": dict(shared.tags),
        "start_after_migration": shared.start,
    }


def _task_attrs(wf: Workflow, src: Source, target: dict[str, Any], shared: _Shared | None = None) -> dict[str, Any]:
    shared = shared or _Shared(wf)
    port, network, proxy, bandwidth, syncing, install_rsync = shared.task
    verify, hashed, include, exclude = shared.verify
    return {
        "source": src.name,
        "source_ip": str(src.ip),
        "source_mac": src.mac,
        "os": src.os,
        "type": "MIGRATE_FILE" if src.os == "linux" else "MIGRATE_BLOCK",
        "target": f"{wf.name}/{src.name}/{TARGET_SERVER}",
        "target_name": target["name"],
        "migration_port": port,
        "network": network,
        "proxy": proxy,
        "bandwidth_limit_mbps": bandwidth,
        "syncing": syncing,
        "install_rsync": install_rsync,
        "copy_exclude_paths": list(shared.copy_exclude),
        "verify": {"enabled": verify, "hash": hashed, "include_paths": list(include), "exclude_paths": list(exclude)},
        "start_target_server": shared.start,
    }


def agent_reason(wf: Workflow, src: Source) -> str:
    """StartUpAgent in the plan: who installs the SMS-Agent and how (Source.agent_installer)."""
    proxy = wf.network.proxy
    at = f"{proxy.host}:{proxy.port}" if proxy else ""
    if src.agent_installer == "preinstalled":
        if src.os == "windows":
            how = ("install SMS-Agent-Py3.exe on it (AK/SK, SMS domain"
                   + (f", proxy {at} in the installer" if at else "") + ")")
        else:
            how = ("run the SMS console's install command on it (SMS-Agent.tar.gz, ./startup.sh"
                   + (f", proxy {at} in agent/config/auth.cfg" if at else "") + ")")
        return (f"the SMS-Agent is installed by YOU: {how}; apply waits up to {src.agent_wait_minutes:g} min for it to "
                f"register with SMS (MAC {src.mac}, IP {src.ip})"
                + ("; block-level, ports 8899/8900" if src.os == "windows" else ""))
    return ("prechecks, " + ("install rsync, " if wf.advanced.install_rsync else "")
            + "the SMS-Agent by mgc-iac over SSH (the source downloads SMS-Agent.tar.gz"
            + (f" through {at}" if at else "") + ", sha256 checked; startup.sh answered prompt by prompt)")


def verify_reason(wf: Workflow, src: Source, provider: str) -> str:
    """VerifyConsistency in the plan: which verification runs (mgc-iac's own, or SMS's agent's)."""
    pol = wf.verification_policy
    if not (wf.advanced.verify_consistency or pol.hash):
        return "verification off"
    paths = ", ".join(pol.include_paths) or "the whole copy"
    if provider == "lab" and src.agent_installer == "mgc-iac":
        return (f"mgc-iac's own verification over SSH: {'hash' if pol.hash else 'size and mtime'} of {paths}"
                + (f", excluding {', '.join(pol.exclude_paths)}" if pol.exclude_paths else ""))
    skipped = [name for name, on in (("hash", pol.hash), ("exclude_paths", bool(pol.exclude_paths))) if on]
    return (f"the SMS-Agent's own check (size and mtime of {paths})"
            + (f"; {' and '.join(skipped)} not applied: mgc-iac's own verification needs SSH to the target"
               if skipped else ""))


def _checks_note(wf: Workflow) -> str:
    checks = wf.validation.checks
    return f" (after {len(checks)} automated check(s): {', '.join(c.name for c in checks)})" if checks else ""


def _workflow_reasons(wf: Workflow) -> dict[StepKind, str]:
    """What each step does in this workflow, for the steps whose words are the same for all its servers."""
    return {
        StepKind.START_SYNCHRONIZATION: "incremental synchronization" if not wf.advanced.quick_mode
        else "quick mode: no incremental synchronization",
        StepKind.TEST_LAUNCH: ("SMS clone_test: a clone of the target starts as its own server while the sync "
                               "goes on" if wf.test_launch == "clone" else
                               "SMS test: the target starts for a test, its synchronization pauses"),
        StepKind.TEST_VALIDATION: "check the services on the " + ("clone" if wf.test_launch == "clone" else
                                                                   "launched target")
        + _checks_note(wf),
        StepKind.TEST_CLEANUP: ("delete the clone" if wf.test_launch == "clone" else
                                "stop the test: the synchronization resumes and brings the target back in line"),
        StepKind.BUSINESS_VALIDATION: "check the services on the target" + _checks_note(wf),
        StepKind.CUTOVER: "switch services to the target"
        + (" and start it" if wf.advanced.start_target_after_migration else ""),
        StepKind.MIGRATION_TASK_CLEAR: "delete the SMS task",
    }


class _WorkflowSteps:
    """A workflow's steps for each of its servers: the words that are the same for all its servers are built once,
    the others once per distinct value (who installs the agent, the GB copied, a disk that shrinks)."""

    def __init__(self, wf: Workflow, reasons: dict[StepKind, str], made: dict[tuple[StepKind, bool, str], Step],
                 provider: str) -> None:
        """`reasons`: the workflow's (_workflow_reasons); `made`: Steps already built, shared between servers and
        workflows (Steps are frozen)."""
        self.wf, self.made, self.provider = wf, made, provider
        self.verify_on = wf.advanced.verify_consistency or wf.verification_policy.hash
        enabled = {StepKind.START_SYNCHRONIZATION: not wf.advanced.quick_mode}
        shared = {kind: self.step(kind, enabled.get(kind, True), reason) for kind, reason in reasons.items()}
        tests = () if wf.test_launch == "off" else (StepKind.TEST_LAUNCH, StepKind.TEST_VALIDATION,
                                                        StepKind.TEST_CLEANUP)
        # the template's order (STEP_ORDER) around the steps whose words depend on the server
        self.sync = shared[StepKind.START_SYNCHRONIZATION]  # after ResizeDiskPartition
        self.gates = tuple(shared[k] for k in (*tests, StepKind.BUSINESS_VALIDATION, StepKind.CUTOVER))  # after Verify
        self.last = shared[StepKind.MIGRATION_TASK_CLEAR]  # after SourceClear
        copy_exclude = wf.advanced.copy_exclude_paths
        self.not_copied = f" (not copied: {', '.join(copy_exclude)})" if copy_exclude else ""
        self.by_installer: dict[str, tuple[Step | None, Step, Step]] = {}
        self.copies: dict[float, Step] = {}
        self.resize = {shrinks: self.step(StepKind.RESIZE_DISK_PARTITION, shrinks,
                                          "target disks shrink: resize partitions on the SMS console" if shrinks
                                          else "no target disk shrinks") for shrinks in (False, True)}

    def step(self, kind: StepKind, enabled: bool, reason: str) -> Step:
        key = (kind, enabled, reason)
        step = self.made.get(key)
        if step is None:
            step = self.made[key] = Step(*key)
        return step

    def of(self, src: Source, target: dict[str, Any], used: float, shrinks: bool) -> tuple[Step, ...]:
        """The server's steps in template order (STEP_ORDER, the test steps only when the workflow launches one)."""
        installer = src.agent_installer
        known = self.by_installer.get(installer)
        if known is None:  # the agent's words name the source (its MAC and IP) only when YOU install it
            wf = self.wf
            agent = None if installer == "preinstalled" else agent_reason(wf, src)
            known = self.by_installer[installer] = (
                None if agent is None else self.step(StepKind.START_UP_AGENT, True, agent),
                self.step(StepKind.VERIFY_CONSISTENCY, self.verify_on, verify_reason(wf, src, self.provider)),
                self.step(StepKind.SOURCE_CLEAR, True,
                          "stop and remove the agent on the source (shutdown.sh, then SMS-Agent/)"
                          if installer == "mgc-iac" else
                          "SMS clears the source; the agent YOU installed stays: uninstall it"))
        agent, verify, clear = known
        if agent is None:
            agent = self.step(StepKind.START_UP_AGENT, True, agent_reason(self.wf, src))
        copy = self.copies.get(used)
        if copy is None:
            copy = self.copies[used] = self.step(StepKind.START_MIGRATION, True,
                                                 f"full replication of {used:g} GB{self.not_copied}")
        # its words name the target, so no other server shares it: not kept in `made` (100k entries at 100k)
        create = Step(StepKind.CREATE_TARGET, True, f"create {target['name']} ({target['flavor']}"
                      + (", encrypted disks" if target["encryption"]["enabled"] else "") + ")")
        return (create, agent, copy, self.resize[shrinks], self.sync, verify, *self.gates, clear, self.last)


def _server_node(wf: Workflow, src: Source, target: dict[str, Any], workflow_size: int,
                 steps: _WorkflowSteps) -> ServerNode:
    """`steps`: the workflow's (_WorkflowSteps); the agent's steps and the verification depend on the source (who
    installs its agent) and the cloud."""
    shrinks = any(t["size_gb"] < d.size_gb for d, t in zip(src.disks, target["disks"], strict=True))
    limit = wf.advanced.bandwidth_limit_mbps
    mbps = limit / max(workflow_size, 1) if limit else ASSUMED_UNLIMITED_MBPS
    used = sum(d.used_gb for d in src.disks)
    steps = steps.of(src, target, used, shrinks)
    return ServerNode(
        workflow=wf.name, server=src.name, os=src.os, target_name=target["name"], steps=steps, used_gb=used,
        assumed_mbps=mbps, estimated_seconds=int(used * 8192 / mbps) if used else 0,
    )
