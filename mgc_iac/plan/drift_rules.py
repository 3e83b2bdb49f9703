"""What the plan does about drift: repair it in the direction of the spec, with the same rules as any change.

Before Cutover (the target is not production yet):
- a target deleted outside is created again (replace: new idempotency token, its steps from CreateTarget);
- a migration task deleted outside, or moved to another source, is created again (from StartUpAgent);
- tags changed, added or removed outside are put back; a flavor changed outside is changed back (resize);
- disks swapped outside replace the target (its data is migrated again);
- a stopped target, a task stopped in the console or a lost EIP is only reported.
After Cutover (production): tags are put back (safe in production); a deleted target, or a flavor or disks
changed outside, is refused with what changed, unless the spec already says what the cloud has (then only the
record follows). Removing the server from the spec is the way out: the plan then forgets it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from mgc_iac.graph import MIGRATION_TASK, TARGET_SERVER, replace_reasons
from mgc_iac.plan.model import Action, Drift, ResourceChange
from mgc_iac.state import ResourceRecord

FORGET_HINT = "remove the server from its workflow in the spec to stop managing it (the plan then forgets it)"


@dataclass
class Repair:
    """The outcome for one drifted resource: a change that settles it (or None: plan it as usual from
    `record`, whose attributes now hold the live values), the drift with its effect, and any refusal."""

    record: ResourceRecord
    change: ResourceChange | None = None
    drift: list[Drift] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)


def repair_drift(record: ResourceRecord, desired: dict[str, Any], drift: list[Drift], production: bool) -> Repair:
    if record.kind == TARGET_SERVER:
        return _target(record, desired, drift, production)
    if record.kind == MIGRATION_TASK:
        return _task(record, desired, drift, production)
    return Repair(record, drift=[replace(d, effect="report") for d in drift])


def _change(record: ResourceRecord, action: Action, before: dict[str, Any], after: dict[str, Any],
            changed: tuple[str, ...], reasons: tuple[str, ...]) -> ResourceChange:
    return ResourceChange(record.address, record.kind, record.workflow, record.server, action, before, after,
                          changed, reasons)


def _target(record: ResourceRecord, desired: dict[str, Any], drift: list[Drift], production: bool) -> Repair:
    by_attr = {d.attribute: d for d in drift}
    name = desired.get("name") or record.attrs.get("name")
    if "exists" in by_attr:
        if production:
            return Repair(record, drift=[replace(by_attr["exists"], effect="report")], refusals=[
                f"{record.address}: target {name} was deleted outside mgc-iac after its Cutover; a production "
                f"target is never re-created: {FORGET_HINT}"])
        return Repair(record, _change(record, Action.REPLACE, record.attrs, desired, ("exists",), (
            "exists: deleted outside mgc-iac; created again with a new idempotency token",)),
            [replace(by_attr["exists"], effect="repair")])
    out: list[Drift] = []
    refusals: list[str] = []
    live = dict(record.attrs)
    live_tags = dict(record.attrs.get("tags") or {})
    for d in drift:
        if d.attribute.startswith("tags."):
            key = d.attribute.removeprefix("tags.")
            if d.live is None:
                live_tags.pop(key, None)
            else:
                live_tags[key] = d.live
            out.append(replace(d, effect="repair" if desired.get("tags", {}).get(key) != d.live else "report"))
        elif d.attribute == "flavor":
            live["flavor"] = d.live
            accepted = desired.get("flavor") == d.live
            if production and not accepted:
                refusals.append(f"{record.address}: the flavor of production target {name} was changed outside "
                                f"mgc-iac ({d.recorded} -> {d.live}); set `flavor: {d.live}` in the spec to keep "
                                f"it, or {FORGET_HINT}")
            out.append(replace(d, effect="report" if accepted or production else "repair"))
        elif d.attribute == "disks":
            if production:
                refusals.append(f"{record.address}: the disks of production target {name} were changed outside "
                                f"mgc-iac (volumes {', '.join(d.recorded)} -> {', '.join(d.live) or 'none'}); "
                                f"{FORGET_HINT}")
                out.append(replace(d, effect="report"))
            else:
                out.append(replace(d, effect="repair"))
        else:
            out.append(replace(d, effect="report"))
    live["tags"] = dict(sorted(live_tags.items()))
    if refusals:
        return Repair(record, drift=out, refusals=refusals)
    if "disks" in by_attr and not production:
        return Repair(record, _change(record, Action.REPLACE, live, desired, ("disks",), (
            "disks: the target's disks were changed outside mgc-iac; a new target is created and migrated again",)),
            out)
    if live == desired:
        if record.attrs == desired:
            return Repair(record, drift=out)  # nothing to repair (only reported drift)
        return Repair(record, _change(record, Action.UPDATE, live, desired, (), (
            "the spec already says what the cloud has: only the record is updated",)), out)
    if production:
        if _only_tags_differ(live, desired):
            return Repair(record, _change(record, Action.UPDATE, live, desired, _leaves(live, desired), (
                "tags are safe to change in production: put back as the spec says",)), out)
        return Repair(replace(record, attrs=live), drift=out)  # the planner's production rule decides the rest
    reasons = replace_reasons(record.kind, live, desired)
    if reasons:
        return Repair(replace(record, attrs=live), drift=out)  # the planner replaces it, with its reasons
    return Repair(record, _change(record, Action.UPDATE, live, desired, _leaves(live, desired), (
        "changed outside mgc-iac: put back as the spec says",)), out)


def _only_tags_differ(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return {k: v for k, v in a.items() if k != "tags"} == {k: v for k, v in b.items() if k != "tags"}


def _leaves(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    out = [f"tags.{k}" for k in set(before.get("tags") or {}) | set(after.get("tags") or {})
           if (before.get("tags") or {}).get(k) != (after.get("tags") or {}).get(k)]
    out += [k for k in set(before) | set(after) if k != "tags" and before.get(k) != after.get(k)]
    return tuple(sorted(out))


def _task(record: ResourceRecord, desired: dict[str, Any], drift: list[Drift], production: bool) -> Repair:
    by_attr = {d.attribute: d for d in drift}
    for attr, why in (("exists", "deleted outside mgc-iac"), ("source", "moved to another source outside mgc-iac")):
        if attr in by_attr:
            if production:  # the migration is over: the task has nothing left to do
                return Repair(record, drift=[replace(d, effect="report") for d in drift])
            return Repair(record, _change(record, Action.REPLACE, record.attrs, desired, (attr,), (
                f"{attr}: {why}; created again at StartUpAgent (the data is migrated again)",)),
                [replace(d, effect="repair" if d.attribute == attr else "report") for d in drift])
    return Repair(record, drift=[replace(d, effect="report") for d in drift])
