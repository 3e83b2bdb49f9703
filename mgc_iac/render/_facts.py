"""What a reviewer must see of a resource before approving it, as format-neutral facts (pure data).

A fact is a label and pieces of text; a piece marked literal is a name or a value from the spec (shown as code
in markdown, as is in text), so a tag value such as `a|b*c` is never taken for markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mgc_iac.graph import MIGRATION_TASK, NOTIFICATION, TARGET_SERVER
from mgc_iac.plan import Action, ResourceChange
from mgc_iac.stack import ApprovalPolicy

Piece = tuple[str, bool]  # (text, literal)


@dataclass(frozen=True)
class Fact:
    label: str
    pieces: tuple[Piece, ...]

    @property
    def text(self) -> str:
        return "".join(text for text, _ in self.pieces)


def _t(text: object) -> Piece:
    return (str(text), False)


def _lit(text: object) -> Piece:
    return (str(text), True)


def _joined(items: list[tuple[Piece, ...]], sep: str = ", ") -> tuple[Piece, ...]:
    out: list[Piece] = []
    for n, item in enumerate(items):
        if n:
            out.append(_t(sep))
        out.extend(item)
    return tuple(out)


def resource_facts(change: ResourceChange) -> list[Fact]:
    """The facts of what a create (or replace) makes: for a target server its name, flavor, disks, key, IPs,
    network and tags; for a task its copy settings; for a notification its topic and events."""
    attrs = change.after or {}
    if change.action not in (Action.CREATE, Action.REPLACE) or not attrs:
        return []
    if change.kind == TARGET_SERVER:
        return _target_facts(attrs)
    if change.kind == MIGRATION_TASK:
        return _task_facts(attrs)
    if change.kind == NOTIFICATION:
        return [Fact("SMN topic", (_lit(attrs.get("topic_urn")),)),
                Fact("Events", _joined([(_lit(e),) for e in attrs.get("on") or []]) or (_t("none"),)),
                Fact("Language", (_lit(attrs.get("language")),))]
    return []


def _target_facts(a: dict[str, Any]) -> list[Fact]:
    vtype = a.get("volume_type") or "SSD"
    disks = [(_lit(d.get("device")), _t(f" {d.get('size_gb'):g} GB {vtype}" + (" (system disk)" if n == 0 else "")))
             for n, d in enumerate(a.get("disks") or [])]
    enc = a.get("encryption") or {}
    if enc.get("enabled"):
        key: list[Piece] = [_t("KMS key")]
        if enc.get("key_alias"):
            key += [_t(" alias "), _lit(enc["key_alias"])]
        if enc.get("key_id"):
            key += [_t(" id "), _lit(enc["key_id"])]
        else:
            key.append(_t(" (its id is looked up from the alias at apply)"))
        encryption = tuple(key)
    else:
        encryption = (_t("none: the disks are not encrypted"),)
    fixed = a.get("fixed_ip")
    tags = sorted((a.get("tags") or {}).items())
    zone = [_t(", zone "), _lit(a["availability_zone"])] if a.get("availability_zone") else []
    return [
        Fact("Target name", (_lit(a.get("name")),)),
        Fact("Flavor", (_lit(a.get("flavor")),)),
        Fact("Disks", _joined(disks, "; ") or (_t("none"),)),
        Fact("Encryption", encryption),
        Fact("Public IP", (_t("a new EIP"),) if a.get("eip") else (_t("none (private network)"),)),
        Fact("Private IP", (_t("retained from the source: "), _lit(fixed)) if fixed else
             (_t("assigned from the subnet"),)),
        Fact("Security group", (_lit(a.get("security_group")),)),
        Fact("Subnet", (_lit(a.get("subnet")), _t(" in VPC "), _lit(a.get("vpc")))),
        Fact("Region", (_lit(a.get("region")), *zone)),
        Fact("Tags", _joined([(_lit(f"{k}={v}"),) for k, v in tags]) or (_t("none"),)),
    ]


def _task_facts(a: dict[str, Any]) -> list[Fact]:
    verify = a.get("verify") or {}
    if verify.get("hash"):
        check: tuple[Piece, ...] = (_t("sha256 of "), *_joined([(_lit(p),) for p in verify.get("include_paths") or []]))
    elif verify.get("enabled"):
        check = (_t("size and mtime"),)
    else:
        check = (_t("off"),)
    excluded = verify.get("exclude_paths") or []
    if excluded:
        check += (_t(", excluding "), *_joined([(_lit(p),) for p in excluded]))
    limit = a.get("bandwidth_limit_mbps")
    network = (_t("private, through proxy "), _lit(a.get("proxy"))) if a.get("proxy") else (_t(str(a.get("network"))),)
    return [
        Fact("Source", (_lit(a.get("source")), _t(" at "), _lit(a.get("source_ip")), _t(", MAC "),
                        _lit(a.get("source_mac")))),
        Fact("Task type", (_lit(a.get("type")),)),
        Fact("Migration port", (_lit(a.get("migration_port")),)),
        Fact("Network", network),
        Fact("Bandwidth limit", (_t(f"{limit} Mbit/s" if limit else "none"),)),
        Fact("Synchronization", (_t("incremental after the full copy" if a.get("syncing") else
                                    "none (quick mode)"),)),
        Fact("Verification", check),
    ]


def approval_rule(spec: dict[str, Any], author: str | None, in_force: dict[str, Any] | None = None) -> str:
    """Who may approve a gate under the approval policy in force (the plan's `policy`; else the spec's), in words."""
    raw = (spec or {}).get("approvals") or {}
    policy = ApprovalPolicy.model_validate(raw)
    if in_force is not None:
        policy = ApprovalPolicy(required_approvers=int(in_force["required_approvers"]),
                                allow_plan_author=bool(in_force["allow_plan_author"]),
                                require_signatures=bool(in_force["require_signatures"]))
    n = policy.required_approvers
    who = f"{n} distinct approver{'s' if n != 1 else ''}"
    if in_force is not None and in_force.get("signers"):
        names = sorted({line.split()[0] for line in in_force["signers"]})
        who += f", signed, among {', '.join(names)} ({in_force.get('source', 'the policy in force')})"
    elif in_force is None and raw.get("allowed_signers"):  # signed approvals: that file's principals
        who += f" among the principals of {raw['allowed_signers']}"
    if policy.allow_plan_author:
        return who + (f" (the plan's author {author} may be one)" if author else " (the plan's author may be one)")
    if author:
        return who + f" other than the plan's author {author}"
    # the author is the plan's signer (plan --sign-key), never a typed name: unsigned, nobody can be excluded
    return who + " other than the plan's author (an unsigned plan has no known author: sign it with plan --sign-key)"


def summary_pieces(change: ResourceChange) -> tuple[Piece, ...]:
    """One line of what a create makes (or a delete removes), for the resource table; the detail section has
    the rest."""
    a = change.after or {}
    if change.action is Action.DELETE and change.kind == TARGET_SERVER:
        return (_t("deletes "), _lit((change.before or {}).get("name")), _t(" and its disks"))
    if change.action is not Action.CREATE:
        return ()
    if change.kind == TARGET_SERVER:
        disks = a.get("disks") or []
        size = sum(float(d.get("size_gb") or 0) for d in disks)
        enc = "encrypted" if (a.get("encryption") or {}).get("enabled") else "not encrypted"
        return (_lit(a.get("name")), _t(", "), _lit(a.get("flavor")),
                _t(f", {len(disks)} disk{'s' if len(disks) != 1 else ''} ({size:g} GB, {enc})"))
    if change.kind == MIGRATION_TASK:
        return (_t("from "), _lit(a.get("source")), _t(" on port "), _lit(a.get("migration_port")))
    if change.kind == NOTIFICATION:
        return (_t("topic "), _lit(a.get("topic_urn")))
    return ()
