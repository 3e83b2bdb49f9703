"""The page rules added for issue 10: source facts, MACs, the private network, regions, keys, SMN, tags,
verification paths. Same shape as stack/rules.py (each appends located diagnostics to a RuleContext)."""

from __future__ import annotations

import re
from ipaddress import IPv4Address, ip_address
from typing import TYPE_CHECKING

from mgc_iac.cloud import evs_key_specs
from mgc_iac.stack.known_keys import state_name
from mgc_iac.visible import has_controls

if TYPE_CHECKING:
    from mgc_iac.stack.rule_context import RuleContext

MIN_MEMORY_MB = 520  # the page: "At least 520 MB of available memory"
MAX_VERIFY_PATHS = 30  # the page, Table 2: "A maximum of 30 paths can be entered"
# TMS tag rules (TMS API reference, ResourceTag / TagList; ECS BatchCreateServerTags): a key is 1-128
# characters, a value 0-255, of UTF-8 letters, digits and spaces plus these; no leading or trailing spaces;
# keys starting with _sys_ are the system's
TAG_KEY_EXTRA = set("_.:=+-@")
TAG_VALUE_EXTRA = set("_.:/=+-@")
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 255


def rule_source_memory_total(ctx: RuleContext) -> None:
    for i, src in enumerate(ctx.stack.sources):
        if src.memory_mb < MIN_MEMORY_MB:
            ctx.error(("sources", i, "memory_mb"), f"`{src.name}` has {src.memory_mb} MB of memory in total; "
                      f"migration needs at least {MIN_MEMORY_MB} MB available, which it can never have",
                      f"check the inventory (memory_mb is in MB), or give the source at least {MIN_MEMORY_MB} MB",
                      "source-memory")
        avail = src.facts.available_memory_mb
        if avail is not None and avail > src.memory_mb:
            ctx.error(("sources", i, "facts", "available_memory_mb"),
                      f"`{src.name}` declares {avail} MB available but only {src.memory_mb} MB in total",
                      "available memory can never exceed memory_mb: fix one of the two", "source-memory")


def rule_network_addresses(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        net = wf.network
        loc = ("workflows", i, "network")
        if net.proxy is not None:
            try:
                addr = ip_address(net.proxy.host)
            except ValueError:
                addr = None
            if not isinstance(addr, IPv4Address) or not addr.is_private:
                ctx.error(loc + ("proxy", "host"), f"proxy host `{net.proxy.host}` is not a private IP address",
                          "the page asks for the private IP address of the source proxy server and its port, "
                          "e.g. {host: 192.168.1.5, port: 3128}", "network")


def rule_target_region(ctx: RuleContext) -> None:
    region = ctx.stack.cloud.region
    for i, wf in enumerate(ctx.stack.workflows):
        t = wf.target
        if t.region != region:
            ctx.error(("workflows", i, "target", "region"), f"target region `{t.region}` is not the stack's cloud "
                      f"region `{region}`, where the targets are created", f"set `region: {region}` (or move "
                      "the workflow to a stack of that region)", "target-region")
        if t.project != t.region and not t.project.startswith(f"{t.region}_"):
            ctx.error(("workflows", i, "target", "project"), f"project `{t.project}` is not a project of region "
                      f"`{t.region}`", f"use `{t.region}` (the region's default project) or `{t.region}_<name>`",
                      "target-region")


def rule_keys_known(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        enc = wf.encryption
        loc = ("workflows", i, "encryption")
        if enc.key_alias is not None and not enc.key_alias.strip():
            ctx.error(loc + ("key_alias",), "the key alias is empty", "name a KMS key, e.g. `key_alias: evs/default`",
                      "encryption")
            continue
        ref = enc.key_id or enc.key_alias
        if not enc.enabled or not ref or ctx.facts is not None or ref not in ctx.known_keys:
            continue
        key = ctx.known_keys[ref]
        field_loc = loc + ("key_id" if enc.key_id else "key_alias",)
        if key.spec not in evs_key_specs(wf.target.region):
            ctx.error(field_loc, f"KMS key `{ref}` is {key.spec} (known from the lab seed or the last --refresh); "
                      f"EVS encryption in {wf.target.region} needs {' or '.join(evs_key_specs(wf.target.region))}",
                      "choose an AES_256 key (e.g. evs/default)", "encryption")
        elif not key.enabled:
            ctx.error(field_loc, f"KMS key `{ref}` is {state_name(key.state)} (known from the lab seed or the last "
                      "--refresh)", "enable the key in KMS or choose an enabled one", "encryption")


def rule_topic_region(ctx: RuleContext) -> None:
    region = ctx.stack.cloud.region
    for i, wf in enumerate(ctx.stack.workflows):
        note = wf.advanced.notifications
        if note is None or note.topic_urn.count(":") != 4:
            continue
        topic_region = note.topic_urn.split(":")[2]
        if topic_region != region:
            ctx.error(("workflows", i, "advanced", "notifications", "topic_urn"),
                      f"SMN topic is in `{topic_region}`, not in `{region}` where MgC runs",
                      f"the page: only a topic of the default IAM project of {region} can be chosen; create one "
                      "there", "notifications")


def tag_problem(key: str, value: str) -> str | None:
    """Why a tag breaks TMS's naming rules, or None."""
    for what, text, extra, low, high in (("key", key, TAG_KEY_EXTRA, 1, MAX_TAG_KEY),
                                          ("value", value, TAG_VALUE_EXTRA, 0, MAX_TAG_VALUE)):
        if not low <= len(text) <= high:
            return f"the tag {what} must be {low}-{high} characters (it has {len(text)})"
        if text != text.strip(" "):
            return f"the tag {what} starts or ends with a space"
        bad = sorted({c for c in text if not (c.isalnum() or c == " " or c in extra)})
        if bad:
            return f"the tag {what} has characters TMS does not allow: {' '.join(map(repr, bad))}"
    if key.startswith("_sys_"):
        return "tag keys starting with _sys_ are reserved for the system"
    return None


def rule_tags(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        for key, value in wf.advanced.tags.items():
            problem = tag_problem(key, value)
            if problem:
                ctx.error(("workflows", i, "advanced", "tags", key), f"tag `{key}`: {problem}",
                          "use letters, digits, '-' and '_' (values also '.'): ECS takes keys of 1-36 and values of "
                          "up to 43 characters, no space at either end", "tags")


def _path_problem(path: str, oses: set[str]) -> str | None:
    if not path.strip():
        return "is empty"
    if any(ch in path for ch in "\n\r") or has_controls(path):
        return "holds a line break or a control character (one path per entry, on one line)"
    if any(part in (".", "..") for part in re.split(r"[\\/]", path)[1:]):
        return "has `.` or `..` segments (write the path it means, e.g. /data rather than /srv/../data)"
    windows = len(path) >= 3 and path[1] == ":" and path[0].isalpha() and path[2] in "\\/"
    if oses == {"linux"} and not path.startswith("/"):
        return "is not an absolute Linux path" + (" (it is a Windows path)" if windows else "")
    if oses == {"windows"} and not windows:
        return "is not an absolute Windows path such as D:\\data" + (" (it is a Linux path)"
                                                                      if path.startswith("/") else "")
    if not (windows or path.startswith("/")):
        return "is not an absolute path"
    return None


def rule_paths(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        oses = {s.os for s in ctx.servers(wf)}
        pol = wf.verification_policy
        lists = (("verification_policy", "include_paths", pol.include_paths),
                 ("verification_policy", "exclude_paths", pol.exclude_paths),
                 ("advanced", "copy_exclude_paths", wf.advanced.copy_exclude_paths))
        for section, name, paths in lists:
            for j, path in enumerate(paths):
                problem = _path_problem(path, oses)
                if problem:
                    ctx.error(("workflows", i, section, name, j), f"path `{path}` {problem}",
                              "write absolute paths of the sources' OS, e.g. /data (Linux) or D:\\data (Windows)",
                              "paths")
        if len(wf.advanced.copy_exclude_paths) > MAX_VERIFY_PATHS:
            ctx.error(("workflows", i, "advanced", "copy_exclude_paths"),
                      f"{len(wf.advanced.copy_exclude_paths)} copy exclude paths; at most {MAX_VERIFY_PATHS}",
                      "exclude parent directories instead of many children", "exclude-paths")
        both = sorted(set(pol.include_paths) & set(pol.exclude_paths))
        for path in both:
            ctx.error(("workflows", i, "verification_policy", "exclude_paths", pol.exclude_paths.index(path)),
                      f"`{path}` is both included in and excluded from the verification",
                      "keep it in one list only", "paths")


def rule_rsync_windows(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        windows = [s.name for s in ctx.servers(wf) if s.os == "windows"]
        if wf.advanced.install_rsync and windows:
            ctx.error(("workflows", i, "advanced", "install_rsync"),
                      f"install_rsync is for Linux sources; {', '.join(windows)} run Windows (block-level migration "
                      "needs no rsync)", "turn install_rsync off, or put the Windows sources in their own workflow",
                      "install-rsync")


def rule_verify_off_hash_on(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        if wf.verification_policy.hash and not wf.advanced.verify_consistency:
            ctx.error(("workflows", i, "verification_policy", "hash"),
                      "hash verification is on but verify_consistency is off: the two disagree",
                      "set `advanced.verify_consistency: true` to verify with hashes, or `hash: false`",
                      "verification")


def rule_moved(ctx: RuleContext) -> None:
    if not ctx.stack.moved:
        return  # the usual stack: no 100k-address set built to check nothing
    desired = {f"{wf.name}/{s.name}" for wf in ctx.stack.workflows for s in ctx.servers(wf)}
    seen: set[str] = set()
    for i, move in enumerate(ctx.stack.moved):
        if move.to not in desired:
            ctx.error(("moved", i, "to"), f"`{move.to}` is not a server of any workflow in the spec",
                      "name the new address workflow/server of a source the spec migrates", "moved")
        if move.from_ in desired:
            ctx.error(("moved", i, "from"), f"`{move.from_}` is still a server of the spec: nothing moves from it",
                      "remove this block (or the old server from its workflow)", "moved")
        for end in (move.from_, move.to):
            if end in seen:
                ctx.error(("moved", i), f"`{end}` appears in two moved blocks", "keep one block per server",
                          "moved")
            seen.add(end)


PAGE_RULES = (rule_moved, rule_source_memory_total, rule_network_addresses, rule_target_region, rule_keys_known,
              rule_topic_region, rule_tags, rule_paths, rule_rsync_windows, rule_verify_off_hash_on)
