"""Every rule of the MgC server migration workflow page, checked against a loaded stack.

Each rule appends diagnostics with a field path; `check_stack` resolves paths to file and line. Rules that
need live facts (security group rules, KMS key spec and state, subnet inside the VPC, rsync and memory on
the source) read `LiveFacts` when `plan --refresh` gathered them, else whatever the spec declares.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from ipaddress import IPv4Network

from mgc_iac.cloud import evs_key_specs
from mgc_iac.diagnostics import Diagnostic, Diagnostics
from mgc_iac.stack.facts import KeyFacts, LiveFacts
from mgc_iac.stack.known_keys import state_name
from mgc_iac.stack.loader import LoadedStack
from mgc_iac.stack.models import Source
from mgc_iac.stack.rule_context import RuleContext
from mgc_iac.stack.rules_agent import AGENT_RULES
from mgc_iac.stack.rules_flow import FLOW_RULES
from mgc_iac.stack.rules_input import INPUT_RULES
from mgc_iac.stack.rules_page import PAGE_RULES, tag_problem
from mgc_iac.stack.sourcemap import Loc

# The page's blacklist: ports the migration port may never use.
BLACKLISTED_PORTS = frozenset({
    135, 139, 445, 5357, 5985, 5986, 8899, 8900, 47001, 49664, 49665, 49666, 49668, 49669, 49671, 49674,
    49677, 49679, 49680, 49681, 49682, 49683, 49685, 49690, 49691, 49693, 49694, 49695, 49698, 49699,
    49700, 49702, 49703, 49704, 49705, 49706, 49707, 49708, 49709, 49710, 49711, 49712, 49713,
})
CONTROL_PORT = 8899
TRANSMISSION_PORT = 8900
MAX_EXCLUDE_PATHS = 30
MIN_MEMORY_MB = 520
MIN_CPUS = {"linux": 0.3, "windows": 1.0}
MIN_AGENT_DOWNLOAD_MBPS = {False: 30.0, True: 50.0}  # dedicated, shared
MIN_MBPS_PER_SERVER = 10  # below this per server, tasks preempt each other (the page's caution)
# ECS tags (SDK 3.1.219 docstrings): at create at most 10 server_tags (PostPaidServer.server_tags), and "an ECS
# allows a maximum of 10 tags" (ECS API reference, Adding Tags to an ECS in a Batch): no more can be added later.
# PostPaidServerTag: key 1-36 characters without = * < > \ , | / or ASCII 0-31; value 0-43 without = * < > \ , |
# or ASCII 0-31. BatchAddServerTag (how a changed tag is set after create): key letters, digits, '-', '_' and
# Chinese characters; value the same and '.'. A key with '=' would read back split ("key=value" strings).
MAX_TAGS = 10
TAG_KEY_LENGTH, TAG_VALUE_LENGTH = 36, 43
TAG_KEY_FORBIDDEN = re.compile(r"[=*<>\\,|/\x00-\x1f]")
TAG_VALUE_FORBIDDEN = re.compile(r"[=*<>\\,|\x00-\x1f]")
TAG_KEY_BATCH = re.compile(r"^[A-Za-z0-9_\-\u4e00-\u9fff]+$")
TAG_VALUE_BATCH = re.compile(r"^[A-Za-z0-9_.\-\u4e00-\u9fff]*$")
LINUX_DEFAULT_EXCLUDED = ("/bin", "/boot", "/dev", "/home", "/etc", "/lib", "/media", "/proc", "/sbin",
                          "/selinux", "/sys", "/usr", "/var", "/run", "/tmp")
# The page's VPC advice: a source in one of these ranges is best served by a VPC in the same range.
ADVISED_RANGES = tuple(IPv4Network(n) for n in ("192.168.0.0/16", "172.16.0.0/12", "10.0.0.0/8"))


Rule = Callable[[RuleContext], None]


def check_stack(
    loaded: LoadedStack,
    facts: LiveFacts | None = None,
    other_macs: Mapping[str, tuple[str, str]] | None = None,
    known_keys: Mapping[str, KeyFacts] | None = None,
) -> Diagnostics:
    """Run every rule; return errors and warnings located in the stack's files."""
    ctx = RuleContext(loaded.stack, facts, other_macs or {}, known_keys=known_keys or {}, loaded=loaded)
    for rule in RULES:
        rule(ctx)
    located = Diagnostics()
    for diag, loc in zip(ctx.diags.items, ctx._locs, strict=True):
        file, line = loaded.source_map.locate(loc)
        located.items.append(Diagnostic(diag.severity, diag.message, diag.path, diag.fix, file, line, diag.rule))
    return located


# --- inventory -------------------------------------------------------------------------------------------

def _duplicates(ctx: RuleContext, key: str, names: Iterable[str], what: str) -> None:
    names = list(names)
    if len(set(names)) == len(names):
        return  # the usual stack: no name twice, known from one set built in C
    seen: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            ctx.error((key, i, "name"), f"duplicate {what} name `{name}` (first at {key}[{seen[name]}])",
                      f"give each {what} a unique name", "duplicate-name")
        else:
            seen[name] = i


def rule_not_empty(ctx: RuleContext) -> None:
    if not ctx.stack.sources:
        ctx.error(("sources",), "the stack declares no sources", "add the discovered servers under `sources:`",
                  "empty-stack")
    if not ctx.stack.workflows:
        ctx.error(("workflows",), "the stack declares no workflows",
                  "add a workflow under `workflows:` that selects sources by application or migration plan",
                  "empty-stack")


def rule_unique_names(ctx: RuleContext) -> None:
    _duplicates(ctx, "sources", (s.name for s in ctx.stack.sources), "source")
    _duplicates(ctx, "migration_plans", (p.name for p in ctx.stack.migration_plans), "migration plan")
    _duplicates(ctx, "workflows", (w.name for w in ctx.stack.workflows), "workflow")


def rule_unique_macs(ctx: RuleContext) -> None:
    macs = [src.mac for src in ctx.stack.sources]
    unique = set(macs)
    if len(unique) == len(macs) and not ctx.other_macs.keys() & unique:
        return  # the usual stack: every MAC once, none another stack's
    first: dict[str, int] = {}
    for i, src in enumerate(ctx.stack.sources):
        if src.mac in first:
            other = ctx.stack.sources[first[src.mac]].name
            ctx.error(("sources", i, "mac"), f"MAC {src.mac} of `{src.name}` is also the MAC of `{other}`",
                      "source MACs must be unique across all workflows: correct the inventory", "duplicate-mac")
        else:
            first[src.mac] = i
        owner = ctx.other_macs.get(src.mac)
        if owner is not None:
            ctx.error(("sources", i, "mac"),
                      f"MAC {src.mac} of `{src.name}` is already used by source `{owner[1]}` of stack `{owner[0]}`",
                      "source MACs must be unique across every workflow of the account", "duplicate-mac")


def rule_disks(ctx: RuleContext) -> None:
    for i, src in enumerate(ctx.stack.sources):
        disks = src.disks
        # counted only when a device repeats: a Counter per source is most of this rule's time
        devices = Counter(d.device for d in disks) if len({d.device for d in disks}) != len(disks) else None
        for j, disk in enumerate(disks):
            if disk.used_gb > disk.size_gb:
                ctx.error(("sources", i, "disks", j, "used_gb"),
                          f"used {disk.used_gb} GB exceeds the disk size {disk.size_gb} GB",
                          "correct used_gb or size_gb", "disk-size")
            if devices is not None and devices[disk.device] > 1:
                ctx.error(("sources", i, "disks", j, "device"), f"device {disk.device} is listed twice",
                          "list each disk once", "disk-size")


def rule_source_resources(ctx: RuleContext) -> None:
    for i, src in enumerate(ctx.stack.sources):
        live = ctx.facts.sources.get(src.name) if ctx.facts else None
        memory = live.available_memory_mb if live and live.available_memory_mb is not None \
            else src.facts.available_memory_mb
        cpus = live.available_cpus if live and live.available_cpus is not None else src.facts.available_cpus
        loc = ("sources", i, "facts")
        if memory is not None and memory < MIN_MEMORY_MB:
            ctx.error(loc + ("available_memory_mb",),
                      f"`{src.name}` has {memory} MB of available memory; migration needs at least {MIN_MEMORY_MB} MB",
                      "free memory on the source (stop services) before migrating", "source-memory")
        minimum = MIN_CPUS[src.os]
        if cpus is not None and cpus < minimum:
            ctx.error(loc + ("available_cpus",),
                      f"`{src.name}` has {cpus} CPUs available; {src.os} migration needs at least {minimum}",
                      "reduce the load on the source before migrating", "source-cpu")


def rule_migration_plans(ctx: RuleContext) -> None:
    names = {s.name for s in ctx.stack.sources}
    for i, plan in enumerate(ctx.stack.migration_plans):
        for j, server in enumerate(plan.servers):
            if server not in names:
                ctx.error(("migration_plans", i, "servers", j),
                          f"migration plan `{plan.name}` names unknown source `{server}`",
                          _closest("declare it under `sources:` or fix the name", server, names), "unknown-ref")


# --- workflows -------------------------------------------------------------------------------------------

def _closest(default: str, name: str, options: Iterable[str]) -> str:
    import difflib

    match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f"did you mean `{match[0]}`?" if match else default


def rule_workflow_selection(ctx: RuleContext) -> None:
    apps = {s.application for s in ctx.stack.sources if s.application}
    plans = {p.name for p in ctx.stack.migration_plans}
    owner: dict[str, str] = {}
    limit = ctx.stack.limits.max_servers_per_workflow
    for i, wf in enumerate(ctx.stack.workflows):
        sel = wf.source
        loc = ("workflows", i, "source")
        if (sel.application is None) == (sel.migration_plan is None):
            ctx.error(loc, "select sources by exactly one of `application` or `migration_plan`",
                      "write `source: {application: NAME}` or `source: {migration_plan: NAME}`", "selection")
            continue
        if sel.application is not None and sel.application not in apps:
            ctx.error(loc + ("application",), f"no source belongs to application `{sel.application}`",
                      _closest("set `application:` on the sources to migrate", sel.application, apps),
                      "unknown-ref")
            continue
        if sel.migration_plan is not None and sel.migration_plan not in plans:
            ctx.error(loc + ("migration_plan",), f"unknown migration plan `{sel.migration_plan}`",
                      _closest("declare it under `migration_plans:`", sel.migration_plan, plans), "unknown-ref")
            continue
        servers = ctx.servers(wf)
        if not servers:
            ctx.error(loc, f"workflow `{wf.name}` selects no servers", "select an application or plan with servers",
                      "empty-workflow")
        if len(servers) > limit:
            ctx.error(loc, f"workflow `{wf.name}` selects {len(servers)} servers; a workflow holds at most {limit}",
                      "split the servers over several migration plans and workflows", "max-servers")
        names = {s.name for s in servers}
        for src in servers:
            if src.name in owner and owner[src.name] != wf.name:
                ctx.error(loc, f"source `{src.name}` is already migrated by workflow `{owner[src.name]}`",
                          "a source belongs to one workflow: remove it from one of the selections",
                          "source-in-two-workflows")
            owner.setdefault(src.name, wf.name)
        for server, override in wf.servers.items():
            if server not in names:
                ctx.error(("workflows", i, "servers", server), f"`{server}` is not a server of workflow `{wf.name}`",
                          _closest("override only servers the workflow selects", server, names), "unknown-ref")
                continue
            _check_resize(ctx, ("workflows", i, "servers", server), override.disks,
                          next(s for s in servers if s.name == server))


def _check_resize(ctx: RuleContext, loc: Loc, resizes: list, source: Source) -> None:
    disks = {d.device: d for d in source.disks}
    for j, resize in enumerate(resizes):
        disk = disks.get(resize.device)
        if disk is None:
            ctx.error(loc + ("disks", j, "device"), f"`{source.name}` has no disk {resize.device}",
                      _closest(f"use one of: {', '.join(disks)}", resize.device, disks), "unknown-ref")
        elif resize.size_gb < disk.used_gb:
            ctx.error(loc + ("disks", j, "size_gb"),
                      f"target disk {resize.size_gb} GB is smaller than the {disk.used_gb} GB used on {resize.device}",
                      "choose a size at least the used size (ResizeDiskPartition shrinks partitions to fit)",
                      "disk-resize")


def rule_target_names(ctx: RuleContext) -> None:
    seen: dict[str, str] = {}
    for i, wf in enumerate(ctx.stack.workflows):
        for src in ctx.servers(wf):
            override = wf.servers.get(src.name)
            name = override.target_name if override and override.target_name else src.name
            loc = ("workflows", i, "servers", src.name, "target_name")
            if len(name) > 64:
                ctx.error(loc, f"target name `{name}` is longer than 64 characters", "use a shorter name",
                          "target-name")
            if name in seen and seen[name] != src.name:
                ctx.error(loc, f"target name `{name}` is also the target of `{seen[name]}`",
                          "give each target a unique target_name", "duplicate-name")
            seen.setdefault(name, src.name)


def rule_ports(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        port = wf.migration_port
        loc = ("workflows", i, "migration_port")
        if port in BLACKLISTED_PORTS:
            what = "is the Windows control/transmission port" if port in (CONTROL_PORT, TRANSMISSION_PORT) \
                else "is reserved by Windows services"
            ctx.error(loc, f"port {port} {what}", "use 22 or a free port in 10000-65535", "migration-port")
        elif port != 22 and not 10000 <= port <= 65535:
            ctx.error(loc, f"port {port} is not allowed", "use 22 or a free port in 10000-65535", "migration-port")
        if wf.control_port != CONTROL_PORT:
            ctx.error(("workflows", i, "control_port"), f"the control port is fixed at {CONTROL_PORT}",
                      f"remove `control_port` or set it to {CONTROL_PORT}", "fixed-port")
        if wf.transmission_port != TRANSMISSION_PORT:
            ctx.error(("workflows", i, "transmission_port"), f"the transmission port is fixed at {TRANSMISSION_PORT}",
                      f"remove `transmission_port` or set it to {TRANSMISSION_PORT}", "fixed-port")


def required_ingress(os_kinds: set[str], migration_port: int) -> list[int]:
    """Inbound TCP ports the target security group must allow."""
    ports = {22, migration_port}
    if "windows" in os_kinds:
        ports |= {CONTROL_PORT, TRANSMISSION_PORT}
    return sorted(ports)


def rule_security_group(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        kinds = {s.os for s in ctx.servers(wf)}
        if not kinds:
            continue
        needed = required_ingress(kinds, wf.migration_port)
        live = ctx.facts.security_groups.get(wf.target.security_group) if ctx.facts else None
        loc = ("workflows", i, "target", "security_group")
        if ctx.facts and wf.target.security_group in ctx.facts.security_groups and live is None:
            ctx.error(loc, f"security group `{wf.target.security_group}` does not exist in {wf.target.region}",
                      "create it or fix the name", "security-group")
            continue
        if live is not None:
            missing = [p for p in needed if not live.allows(p)]
        elif wf.target.security_group_ingress is not None:
            missing = [p for p in needed if p not in wf.target.security_group_ingress]
            loc = ("workflows", i, "target", "security_group_ingress")
        else:
            continue
        if missing:
            kind = "Windows" if "windows" in kinds else "Linux"
            ctx.error(loc, f"security group `{wf.target.security_group}` does not allow inbound TCP "
                      f"{', '.join(map(str, missing))}, which {kind} migrations need",
                      "add inbound allow rules for these ports (ideally only from the source servers)",
                      "security-group")


def rule_network(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        net = wf.network
        loc = ("workflows", i, "network")
        if net.type == "public" and net.proxy is not None:
            ctx.error(loc + ("proxy",), "a proxy applies only to a private migration network",
                      "set `type: private` or remove `proxy`", "network")
        dl = net.agent_download
        if dl is not None:
            minimum = MIN_AGENT_DOWNLOAD_MBPS[dl.shared]
            if dl.bandwidth_mbps < minimum:
                kind = "a shared" if dl.shared else "a dedicated"
                ctx.error(loc + ("agent_download", "bandwidth_mbps"),
                          f"{dl.bandwidth_mbps} Mbit/s is too little to download the SMS-Agent over {kind} bandwidth",
                          f"provide at least {minimum:g} Mbit/s", "agent-download")
        if wf.advanced.install_rsync and net.type == "private" and net.proxy is None:
            ctx.warning(("workflows", i, "advanced", "install_rsync"),
                        "installing rsync needs Internet access (ports 80/443) or a proxy set in "
                        "/etc/apt/apt.conf or /etc/yum.conf on the sources", "", "install-rsync")


def _cidr(declared: IPv4Network | None, facts: dict, name: str) -> IPv4Network | None:
    live = facts.get(name)
    return live.cidr if live is not None else declared


def rule_vpc_subnet(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        t = wf.target
        loc = ("workflows", i, "target")
        if ctx.facts is not None:
            for kind, table in (("vpc", ctx.facts.vpcs), ("subnet", ctx.facts.subnets)):
                name = getattr(t, kind)
                if name in table and table[name] is None:
                    ctx.error(loc + (kind,), f"{kind} `{name}` does not exist in {t.region}",
                              "create it or fix the name", kind)
        vpc = _cidr(t.vpc_cidr, ctx.facts.vpcs if ctx.facts else {}, t.vpc)
        subnet = _cidr(t.subnet_cidr, ctx.facts.subnets if ctx.facts else {}, t.subnet)
        if vpc is not None and subnet is not None and not subnet.subnet_of(vpc):
            ctx.error(loc + ("subnet",), f"subnet {subnet} is not inside VPC {vpc}",
                      "choose a subnet of the target VPC", "subnet-in-vpc")
        if wf.advanced.retain_ip and subnet is not None:
            outside = next((src for src in ctx.servers(wf) if src.ip not in subnet), None)
            if outside is not None:
                ctx.error(("workflows", i, "advanced", "retain_ip"),
                          f"retain_ip: source `{outside.name}` ({outside.ip}) is outside subnet {subnet}",
                          "choose a subnet containing the source IPs or turn retain_ip off", "retain-ip")
        if vpc is None:
            continue
        for src in ctx.servers(wf):
            advised = next((r for r in ADVISED_RANGES if src.ip in r), None)
            if advised is not None and not vpc.subnet_of(advised):
                ctx.warning(loc + ("vpc",), f"source `{src.name}` is {src.ip}: a VPC in {advised} is advised, "
                            f"`{t.vpc}` is {vpc}", f"create the VPC and subnet in {advised}", "vpc-range")
                break


def rule_retain_ip(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        if wf.advanced.retain_ip:
            ctx.warning(("workflows", i, "advanced", "retain_ip"),
                        "retaining source IPs can conflict with the sources while both run",
                        "keep the sources off the target network until cutover", "retain-ip")


def rule_kms_agency(ctx: RuleContext) -> None:
    """EVS needs the EVSAccessKMS agency to encrypt with KMS (checked by `plan --refresh` through IAM)."""
    if ctx.facts is None or ctx.facts.kms_agency is True:
        return
    for i, wf in enumerate(ctx.stack.workflows):
        if not wf.encryption.enabled:
            continue
        loc = ("workflows", i, "encryption", "enabled")
        if ctx.facts.kms_agency is False:
            ctx.error(loc, "the EVSAccessKMS agency is missing in this project: EVS cannot use KMS, and ECS would "
                      "fail creating the encrypted target later, after accepting it",
                      "create it once: IAM > Agencies > Create (cloud service EVS, policy KMS Administrator for "
                      "this region's project), or encrypt one disk in the EVS console, which offers to create it",
                      "encryption")
        else:
            ctx.warning(loc, f"could not check the EVSAccessKMS agency ({ctx.facts.kms_agency_note}): encrypted "
                        "targets fail later if it is missing", "give the credentials iam:agencies:listAgencies, or "
                        "check the agency in the IAM console", "encryption")
        return


def rule_encryption(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        enc = wf.encryption
        loc = ("workflows", i, "encryption")
        if not enc.enabled:
            if enc.key_id or enc.key_alias:
                ctx.warning(loc, "a key is given but encryption is disabled: disks will not be encrypted",
                            "set `enabled: true` or remove the key", "encryption")
            continue
        if (enc.key_id is None) == (enc.key_alias is None):
            ctx.error(loc, "encryption needs exactly one of `key_id` or `key_alias`",
                      "name an existing key, e.g. `key_alias: evs/default`", "encryption")
            continue
        if enc.shared and enc.key_id is None:
            ctx.error(loc + ("key_id",), "a key shared from another account is given by `key_id`",
                      "replace `key_alias` with the shared key's id", "encryption")
            continue
        key_ref = enc.key_id or enc.key_alias or ""
        if ctx.facts is None or key_ref not in ctx.facts.keys:
            continue
        key = ctx.facts.keys[key_ref]
        field_loc = loc + ("key_id" if enc.key_id else "key_alias",)
        if key is None:
            ctx.error(field_loc, f"KMS key `{key_ref}` does not exist in {wf.target.region}",
                      "create the key or, for a shared key, create a grant in the target region", "encryption")
        elif key.spec not in evs_key_specs(wf.target.region):
            ctx.error(field_loc, f"KMS key `{key_ref}` is {key.spec}; EVS encryption in {wf.target.region} needs "
                      f"{' or '.join(evs_key_specs(wf.target.region))}",
                      "choose an AES_256 key (e.g. evs/default)", "encryption")
        elif not key.enabled:
            ctx.error(field_loc, f"KMS key `{key_ref}` is {state_name(key.state)}, not enabled",
                      "enable the key in KMS or choose an enabled one", "encryption")


def rule_rsync(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        if wf.advanced.install_rsync:
            continue
        for src in ctx.servers(wf):
            if src.os != "linux":
                continue
            live = ctx.facts.sources.get(src.name) if ctx.facts else None
            rsync = live.rsync if live and live.rsync is not None else src.facts.rsync
            if rsync is False:
                ctx.error(("workflows", i, "advanced", "install_rsync"),
                          f"rsync is not installed on `{src.name}` and install_rsync is off: its migration would fail",
                          "set `install_rsync: true` or install rsync on the source", "rsync")


def rule_verification(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        pol = wf.verification_policy
        loc = ("workflows", i, "verification_policy")
        if len(pol.exclude_paths) > MAX_EXCLUDE_PATHS:
            ctx.error(loc + ("exclude_paths",), f"{len(pol.exclude_paths)} exclude paths; at most {MAX_EXCLUDE_PATHS}",
                      "exclude parent directories instead of many children", "exclude-paths")
        if pol.hash and not pol.include_paths:
            ctx.error(loc + ("include_paths",), "hash verification needs include paths to verify",
                      "list the key paths under `include_paths`, e.g. [/data]", "hash-include")
        kinds = {s.os for s in ctx.servers(wf)}
        for j, path in enumerate(pol.include_paths):
            if "linux" in kinds and path.startswith("/"):
                under = next((d for d in LINUX_DEFAULT_EXCLUDED if path == d or path.startswith(d + "/")), None)
                if under:
                    ctx.warning(loc + ("include_paths", j), f"{path} is under {under}, which verification "
                                "always excludes on Linux: it will show 0 files", "verify paths outside it",
                                "include-path")
            if "windows" in kinds and len(path) <= 3 and path[1:2] == ":":
                ctx.warning(loc + ("include_paths", j), f"{path} is a partition root, which verification always "
                            "excludes on Windows", "list directories below it", "include-path")


def rule_bandwidth(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        limit = wf.advanced.bandwidth_limit_mbps
        count = len(ctx.servers(wf))
        if limit is not None and count and limit / count < MIN_MBPS_PER_SERVER:
            ctx.warning(("workflows", i, "advanced", "bandwidth_limit_mbps"),
                        f"{limit} Mbit/s shared by {count} servers is {limit / count:.1f} Mbit/s each: tasks may "
                        "preempt each other and some may fail",
                        f"raise the limit to at least {MIN_MBPS_PER_SERVER * count} Mbit/s or split the workflow",
                        "bandwidth")


def rule_notifications_and_tags(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        note = wf.advanced.notifications
        if note is not None and (not note.topic_urn.startswith("urn:smn:") or note.topic_urn.count(":") != 4):
            ctx.error(("workflows", i, "advanced", "notifications", "topic_urn"),
                      f"`{note.topic_urn}` is not an SMN topic URN",
                      "use urn:smn:REGION:PROJECT_ID:TOPIC (from the SMN console)", "notifications")
        if ctx.facts is not None and note is not None and ctx.facts.topics.get(note.topic_urn) is False:
            ctx.error(("workflows", i, "advanced", "notifications", "topic_urn"),
                      f"SMN topic `{note.topic_urn}` does not exist", "create the topic and subscribe to it",
                      "notifications")
        _check_tags(ctx, ("workflows", i, "advanced", "tags"), wf.advanced.tags)


def _check_tags(ctx: RuleContext, loc: Loc, tags: Mapping[str, str]) -> None:
    """ECS's tag rules, the stricter of ours and ECS's (see MAX_TAGS)."""
    if len(tags) > MAX_TAGS:
        ctx.error(loc, f"{len(tags)} tags; an ECS server takes at most {MAX_TAGS}, at create and after (ECS refuses "
                  "more)", "keep at most 10 tags", "tags")
    for key, value in tags.items():
        key, value = str(key), "" if value is None else str(value)
        if tag_problem(key, value):
            continue                       # TMS's own rule already refused it (rules_page.rule_tags)
        if not 1 <= len(key) <= TAG_KEY_LENGTH or TAG_KEY_FORBIDDEN.search(key):
            bad = "=" in key and " ('=' splits it when ECS reads it back: the tag would drift forever)" or ""
            ctx.error(loc + (key,), f"tag key `{key}`: 1-{TAG_KEY_LENGTH} characters, none of = * < > \\ , | / "
                      f"or control characters{bad}", "rename the key, e.g. with '-' or '_'", "tags")
        elif not TAG_KEY_BATCH.match(key):
            ctx.warning(loc + (key,), f"tag key `{key}`: ECS takes it at create, but its tag API (used when tags "
                        "change later) takes only letters, digits, '-', '_'", "rename the key", "tags")
        if len(value) > TAG_VALUE_LENGTH or TAG_VALUE_FORBIDDEN.search(value):
            ctx.error(loc + (key,), f"tag value of `{key}`: at most {TAG_VALUE_LENGTH} characters, none of "
                      "= * < > \\ , | or control characters", "shorten or change the value", "tags")
        elif not TAG_VALUE_BATCH.match(value):
            ctx.warning(loc + (key,), f"tag value of `{key}`: ECS takes it at create, but its tag API (used when "
                        "tags change later) takes only letters, digits, '.', '-', '_'", "change the value", "tags")


def rule_concurrency(ctx: RuleContext) -> None:
    total = sum(len(ctx.servers(wf)) for wf in ctx.stack.workflows)
    cap = ctx.stack.limits.max_concurrent_migrations
    if total > cap:
        ctx.warning(("limits", "max_concurrent_migrations"),
                    f"{total} servers but at most {cap} migrate at once: later workflows wait at their first "
                    "step, in the order the workflows were created", "", "concurrency")


RULES: tuple[Rule, ...] = (
    rule_not_empty, rule_unique_names, rule_unique_macs, rule_disks, rule_source_resources,
    rule_migration_plans, rule_workflow_selection, rule_target_names, rule_ports, rule_security_group,
    rule_network, rule_vpc_subnet, rule_retain_ip, rule_encryption, rule_kms_agency, rule_rsync, rule_verification,
    rule_bandwidth, rule_notifications_and_tags, rule_concurrency, *PAGE_RULES, *FLOW_RULES, *INPUT_RULES,
    *AGENT_RULES,
)
