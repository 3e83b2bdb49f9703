"""Planning: a pure function of (desired graph, recorded state) -> Plan, keyed by address.

Records are compared by address with plain equality; deepdiff only describes the leaves of the few records
that changed (a whole-document deep diff is 100x slower at 10k servers).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from json import JSONEncoder
from json.encoder import c_encode_basestring_ascii, c_make_encoder  # type: ignore[attr-defined]
from operator import attrgetter
from typing import Any

from mgc_iac._gc import gc_paused
from mgc_iac.diagnostics import Diagnostic, Severity
from mgc_iac.errors import DriftRefusedError, PlanRefusedError
from mgc_iac.graph import (
    MANUAL_STEPS,
    MIGRATION_TASK,
    TARGET_SERVER,
    Graph,
    ServerNode,
    Step,
    StepKind,
    replace_reasons,
)
from mgc_iac.plan.drift_rules import repair_drift
from mgc_iac.plan.model import (
    Action,
    Drift,
    Plan,
    Provenance,
    ResourceChange,
    ServerChange,
    StepAction,
    StepChange,
)
from mgc_iac.state import ResourceRecord, Snapshot, StepStatus, canonical_json

CUTOVER = StepKind.CUTOVER.value
_ADDRESS = attrgetter("address")
RESTART_FROM = {TARGET_SERVER: 0, MIGRATION_TASK: 1}  # index in the step template


def make_plan(
    graph: Graph,
    snapshot: Snapshot,
    *,
    spec_digest: str,
    spec: dict[str, Any],
    warnings: Iterable[Diagnostic] = (),
    refreshed: bool = False,
    provenance: Provenance | None = None,
    drift: Iterable[Drift] = (),
) -> Plan:
    """`drift`: what the cloud reports differently from the records (mgc_iac.drift); the plan repairs it in
    the direction of the spec, or raises DriftRefusedError for a production target changed outside."""
    with gc_paused():
        return _make_plan(graph, snapshot, spec_digest=spec_digest, spec=spec, warnings=warnings,
                          refreshed=refreshed, provenance=provenance, drift=tuple(drift))


@dataclass
class _Findings:
    """What planning finds besides the changes: warnings for the plan, refusals that stop it, drift."""

    notes: list[Diagnostic]
    refusals: list[str] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)


def _make_plan(
    graph: Graph,
    snapshot: Snapshot,
    *,
    spec_digest: str,
    spec: dict[str, Any],
    warnings: Iterable[Diagnostic],
    refreshed: bool,
    provenance: Provenance | None,
    drift: tuple[Drift, ...] = (),
) -> Plan:
    """Four phases, each one pass over its input: moves, the desired resources, the recorded ones the spec no
    longer has, then each server's steps."""
    found = _Findings(list(warnings))
    statuses = _statuses(snapshot.steps)
    cut_over = {gate[:-_CUTOVER_SUFFIX] for gate, status in statuses.items()
                if status == _DONE and gate.endswith(_CUTOVER_GATE)}
    moves = _moves(graph, snapshot, cut_over, found)
    changes = _desired_changes(graph, snapshot, moves, drift, cut_over, found)
    changes += _leftover_changes(graph, snapshot, {c.moved_from for c in changes if c.moved_from}, cut_over)
    if found.refusals:
        raise PlanRefusedError(found.refusals)
    changes.sort(key=_ADDRESS)
    return Plan(
        stack=graph.stack,
        spec_digest=spec_digest,
        state_serial=snapshot.serial,
        resource_changes=tuple(changes),
        server_changes=_server_changes(graph, snapshot, changes, moves, statuses),
        workflow_order=tuple(wf.name for wf in graph.workflows),
        diagnostics=tuple(d.to_dict() for d in found.notes),
        spec=spec,
        refreshed=refreshed,
        drift=tuple(sorted(found.drift, key=lambda d: (d.address, d.attribute))),
        provenance=provenance or Provenance(),
    )


def _moves(graph: Graph, snapshot: Snapshot, cut_over: set[str], found: _Findings) -> dict[str, str]:
    """Phase 1: which servers move (new address -> recorded one), with what a move may not do."""
    moves = server_moves(graph, snapshot)
    for new, old in sorted(moves.items()):
        if _agent_runs(snapshot, old) and old not in cut_over:
            found.notes.append(Diagnostic(
                Severity.WARNING, f"{new} moves from {old} while its migration agent runs: the agent keeps its old "
                "address, so a new synchronization will ask for a Full Retry (a new full copy)",
                fix="move it before StartUpAgent or after SourceClear to keep its copy", path=new, rule="move"))
        if old in cut_over:
            found.refusals.append(f"{new}: moving {old} here would plan a second target for a source that is in "
                                  f"production since its Cutover; keep it in its workflow (or remove it to stop "
                                  "managing it, and migrate again only on purpose)")
    return moves


# canonical_json's text (the store's form of attributes), from one C encoder made once instead of one per call
_ENCODE = c_make_encoder(None, JSONEncoder().default, c_encode_basestring_ascii, None, ":", ",", True, False,
                         True) if c_make_encoder is not None and c_encode_basestring_ascii is not None else None


def _attrs_text(attrs: dict[str, Any]) -> str:
    return "".join(_ENCODE(attrs, 0)) if _ENCODE is not None else canonical_json(attrs)


def _desired_changes(graph: Graph, snapshot: Snapshot, moves: dict[str, str], drift: tuple[Drift, ...],
                     cut_over: set[str], found: _Findings) -> list[ResourceChange]:
    """Phase 2: each desired resource against its record (or the record it moves from, or what drifted)."""
    drifted: dict[str, list[Drift]] = {}
    for d in drift:
        drifted.setdefault(d.address, []).append(d)
    drift_refusals: list[str] = []
    changes: list[ResourceChange] = []
    recorded = snapshot.resources
    stored_text = getattr(recorded, "attrs_text", None)
    any_recorded = len(recorded) > 0
    for address, desired in graph.resources.items():
        # equal records are compared as stored text: only changed ones are parsed
        text = stored_text(address) if stored_text is not None else None
        if text is not None and address not in drifted and text == _attrs_text(desired.attrs):
            changes.append(ResourceChange(address, desired.kind, desired.workflow, desired.server, Action.NOOP,
                                          desired.attrs, desired.attrs))
            continue
        server_addr = f"{desired.workflow}/{desired.server}"
        moved_from = None
        known = text is not None or (any_recorded and address in recorded)
        if not known and server_addr in moves:
            old = f"{moves[server_addr]}/{desired.kind}"
            moved_from = old if old in recorded else None
        if not known and moved_from is None:
            changes.append(ResourceChange(address, desired.kind, desired.workflow, desired.server, Action.CREATE,
                                          None, desired.attrs))
            continue
        production = server_addr in cut_over
        if moved_from is None and address in drifted:
            record = recorded[address]
            repaired = repair_drift(record, desired.attrs, drifted.pop(address), production)
            found.drift += repaired.drift
            drift_refusals += repaired.refusals
            if repaired.change is not None:
                changes.append(repaired.change)
                continue
            if repaired.record is not record:  # planned from the live attributes
                changes.append(_planned(repaired.record, desired, production, found.notes, found.refusals))
                continue
        record = recorded[moved_from or address]
        if moved_from is not None:
            record = _rekeyed(record, desired, moves[server_addr])
        change = _planned(record, desired, production, found.notes, found.refusals)
        if desired.kind == TARGET_SERVER and record.attrs.get("flavor") != desired.attrs.get("flavor"):
            _check_resize(address, moves.get(server_addr) or server_addr, snapshot, found.refusals)
        changes.append(replace(change, moved_from=moved_from) if moved_from else change)
    if drift_refusals:
        raise DriftRefusedError(drift_refusals)
    for rest in drifted.values():  # drift of resources the spec no longer has: shown, then deleted or forgotten
        found.drift += [replace(d, effect="report") for d in rest]
    _cascade_target_replacements(changes)
    return changes


def _leftover_changes(graph: Graph, snapshot: Snapshot, taken: set[str], cut_over: set[str]
                      ) -> list[ResourceChange]:
    """Phase 3: records the spec no longer has: deleted, or forgotten when their target is in production."""
    changes = []
    for address in snapshot.resources:  # by address: a kept record is never parsed from its stored JSON
        if address in graph.resources or address in taken:
            continue
        record = snapshot.resources[address]
        if f"{record.workflow}/{record.server}" in cut_over:
            changes.append(ResourceChange(address, record.kind, record.workflow, record.server, Action.FORGET,
                                          record.attrs, None, (), ("cut over: the target is production; "
                                                                   "it is no longer managed, never deleted",)))
        else:
            changes.append(ResourceChange(address, record.kind, record.workflow, record.server, Action.DELETE,
                                          record.attrs, None))
    return changes


def _server_changes(graph: Graph, snapshot: Snapshot, changes: list[ResourceChange], moves: dict[str, str],
                    statuses: dict[str, str] | None = None) -> tuple[ServerChange, ...]:
    """Phase 4: each server's steps; a new or replaced target restarts its server from CreateTarget, a new task
    from StartUpAgent (Full Retry)."""
    restart: dict[str, int] = {}
    for c in changes:
        if c.action in (Action.REPLACE, Action.CREATE) and c.kind in RESTART_FROM:
            key = f"{c.workflow}/{c.server}"
            restart[key] = min(restart.get(key, RESTART_FROM[c.kind]), RESTART_FROM[c.kind])
    made: dict[tuple[str, StepAction, bool, str], StepChange] = {}  # frozen: servers with the same words share one
    statuses = _statuses(snapshot.steps) if statuses is None else statuses
    by_step: dict[tuple[int, str | None], StepChange] = {}
    return tuple(_server_change(node, snapshot, restart.get(f"{node.workflow}/{node.server}") if restart else None,
                                moves.get(f"{node.workflow}/{node.server}") if moves else None, made, statuses,
                                by_step)  # the usual plan restarts and moves nothing: no address built to look up
                 for node in graph.servers())


_DONE, _RUNNING = StepStatus.DONE.value, StepStatus.RUNNING.value
_CUTOVER_GATE = "/" + CUTOVER
_CUTOVER_SUFFIX = len(_CUTOVER_GATE)


def _statuses(steps: Any) -> dict[str, str]:
    """gate -> status value; a store's RecordedSteps gives them without building a StepRecord per step."""
    fast = getattr(steps, "statuses", None)
    return fast() if fast is not None else {gate: record.status.value for gate, record in steps.items()}


def _planned(record: ResourceRecord, desired: Any, production: bool, notes: list[Diagnostic],
             refusals: list[str]) -> ResourceChange:
    """The change from a record to its desired attributes (desired: a graph resource)."""
    if record.attrs == desired.attrs:
        return ResourceChange(desired.address, desired.kind, desired.workflow, desired.server, Action.NOOP,
                              record.attrs, desired.attrs)
    if production:
        return _after_cutover(record, desired.attrs, refusals)
    return _update_or_replace(record, desired.attrs, notes)


def _agent_runs(snapshot: Snapshot, server_addr: str) -> bool:
    started = snapshot.steps.get(f"{server_addr}/StartUpAgent")
    cleared = snapshot.steps.get(f"{server_addr}/SourceClear")
    return bool(started and started.status is StepStatus.DONE and not (cleared and cleared.status in (
        StepStatus.DONE, StepStatus.SKIPPED)))


def server_moves(graph: Graph, snapshot: Snapshot) -> dict[str, str]:
    """New server address -> the recorded server address it moves from: the `moved:` blocks first, then any
    recorded server that left the spec whose source is the same machine (same MAC; or the same source name
    when no MAC is recorded) as a desired server that has no records yet."""
    recorded = snapshot.resources
    orphans = [a for a in recorded if a not in graph.resources and a.count("/") == 2]
    if not orphans:  # the usual plan: every record is still desired, nothing can move
        return {}
    desired_servers = {f"{s.workflow}/{s.server}": s for s in graph.servers()}
    has_records = {a.rsplit("/", 1)[0] for a in recorded if a.count("/") == 2}
    gone = {a.rsplit("/", 1)[0] for a in orphans} - set(desired_servers)
    moves: dict[str, str] = {}
    for new, old in graph.moved.items():
        if new in desired_servers and old in gone and new not in has_records:
            moves[new] = old
    free = sorted(gone - set(moves.values()))
    if not free:
        return moves
    old_macs = {old: (recorded[f"{old}/{MIGRATION_TASK}"].attrs.get("source_mac")
                      if f"{old}/{MIGRATION_TASK}" in recorded else None) for old in free}
    for new in sorted(desired_servers):
        if new in moves or new in has_records:
            continue
        task = graph.resources.get(f"{new}/{MIGRATION_TASK}")
        mac = task.attrs.get("source_mac") if task else None
        name = new.split("/", 1)[1]
        match = next((old for old in free if mac and old_macs[old] == mac), None) or next(
            (old for old in free if old_macs[old] is None and old.split("/", 1)[1] == name), None)
        if match is not None:
            moves[new] = match
            free.remove(match)
    return moves


def _rekeyed(record: ResourceRecord, desired: Any, old_server: str) -> ResourceRecord:
    """The record of a moved resource as if recorded at its new address (its task points at the moved target)."""
    attrs = dict(record.attrs)
    if attrs.get("target") == f"{old_server}/{TARGET_SERVER}":
        attrs["target"] = f"{desired.workflow}/{desired.server}/{TARGET_SERVER}"
    return ResourceRecord(desired.address, record.kind, desired.workflow, desired.server, attrs, record.outputs)


COPYING = ("StartMigration", "StartSynchronization", "VerifyConsistency")


def _check_resize(address: str, server_addr: str, snapshot: Snapshot, refusals: list[str]) -> None:
    """An ECS resize stops and starts the target: never while the migration writes into it."""
    for step in COPYING:
        record = snapshot.steps.get(f"{server_addr}/{step}")
        if record is not None and record.status is StepStatus.RUNNING:
            refusals.append(f"{address}: flavor cannot change while {step} runs (an ECS resize stops the target "
                            "in the middle of the copy): change it once the server waits at BusinessValidation")


def _after_cutover(record: ResourceRecord, after: dict[str, Any], refusals: list[str]) -> ResourceChange:
    """A target in production takes in-place changes (tags, a flavor resize); what needs a new target is
    refused; a migration task is done (cleared), so its changes are noted and not applied."""
    changed = _changed_leaves(record.attrs, after)
    if record.kind != TARGET_SERVER:
        return ResourceChange(record.address, record.kind, record.workflow, record.server, Action.NOOP,
                              record.attrs, after, changed,
                              ("the migration is over since the cutover: task settings are not applied",))
    for reason in replace_reasons(record.kind, record.attrs, after):
        refusals.append(f"{record.address}: {reason.attribute} cannot change after Cutover ({reason.reason}), "
                        "and the target is in production: revert `" + reason.attribute + "` in the spec")
    return ResourceChange(record.address, record.kind, record.workflow, record.server, Action.UPDATE,
                          record.attrs, after, changed, ("in production since its Cutover: changed in place",))


def _update_or_replace(record: ResourceRecord, after: dict[str, Any], notes: list[Diagnostic]) -> ResourceChange:
    reasons = replace_reasons(record.kind, record.attrs, after)
    changed = _changed_leaves(record.attrs, after)
    if not reasons:
        return ResourceChange(record.address, record.kind, record.workflow, record.server, Action.UPDATE,
                              record.attrs, after, changed)
    if any(r.attribute == "encryption" for r in reasons):
        notes.append(Diagnostic(
            Severity.WARNING, f"encryption never applies to an existing target: `{record.address}` exists, so "
            "changing its encryption replaces it and its data is migrated again",
            path=record.address, rule="encryption-existing-target"))
    return ResourceChange(record.address, record.kind, record.workflow, record.server, Action.REPLACE,
                          record.attrs, after, changed, tuple(f"{r.attribute}: {r.reason}" for r in reasons))


def _cascade_target_replacements(changes: list[ResourceChange]) -> None:
    """A replaced target needs a new migration task: the old one migrates into a server that goes away."""
    replaced = {f"{c.workflow}/{c.server}" for c in changes if c.kind == TARGET_SERVER and c.action is Action.REPLACE}
    for i, c in enumerate(changes):
        if c.kind == MIGRATION_TASK and f"{c.workflow}/{c.server}" in replaced and c.action in (
                Action.NOOP, Action.UPDATE):
            changes[i] = ResourceChange(c.address, c.kind, c.workflow, c.server, Action.REPLACE, c.before, c.after,
                                        c.changed, ("target: its target server is replaced",))


def _changed_leaves(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    """The dotted paths DeepDiff reports between two records; the usual change (a scalar or two in records of the
    same shape) is found by a plain walk, without importing DeepDiff (0.1 s: a fifth of a 10k plan's diff phase)."""
    paths: list[str] = []
    try:
        _scalar_leaves(before, after, "", paths)
    except _NeedsDeepDiff:
        return _deepdiff_leaves(before, after)
    return tuple(sorted(set(paths)))


class _NeedsDeepDiff(Exception):
    """Records that differ in a way only DeepDiff's own rules describe (lists, keys added or removed...)."""


_SCALARS = (str, int, float, bool, type(None))
_PATH_UNSAFE = frozenset("'\"[]\\")


def _scalar_leaves(before: Any, after: Any, path: str, out: list[str]) -> None:
    """DeepDiff's report for dicts with the same keys and scalar leaves: a type or a value change at each leaf
    (types first, as DeepDiff: 1 and True differ); anything else raises _NeedsDeepDiff."""
    if before is after:
        return
    kind = type(before)
    if kind is not type(after):
        out.append(path)
    elif kind is dict:
        if before.keys() != after.keys():
            raise _NeedsDeepDiff
        for key, value in before.items():
            if not (type(key) is str and key.isascii() and key.isprintable() and not key.startswith("__")
                    and _PATH_UNSAFE.isdisjoint(key)):
                raise _NeedsDeepDiff  # DeepDiff skips or quotes such keys its own way
            _scalar_leaves(value, after[key], f"{path}.{key}" if path else key, out)
    elif kind in _SCALARS:
        if before != after:
            out.append(path)
    elif not (kind is list and _same(before, after)):
        raise _NeedsDeepDiff


def _same(before: Any, after: Any) -> bool:
    """Whether DeepDiff finds nothing between two values: equal, with the same type at every leaf."""
    if before is after:
        return True
    kind = type(before)
    if kind is not type(after):
        return False
    if kind is list:
        return len(before) == len(after) and all(_same(a, b) for a, b in zip(before, after, strict=True))
    if kind is dict:
        return before.keys() == after.keys() and all(
            type(k) is str and not k.startswith("__") and _same(v, after[k]) for k, v in before.items())
    return kind in _SCALARS and before == after  # NaN is not: DeepDiff reports it


def _deepdiff_leaves(before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    from deepdiff import DeepDiff

    diff = DeepDiff(before, after, ignore_order=False)
    paths: list[str] = []
    for kind in ("values_changed", "type_changes", "dictionary_item_added", "dictionary_item_removed",
                 "iterable_item_added", "iterable_item_removed"):
        for path in diff.get(kind, ()):
            paths.append(_dotted(path))
    return tuple(sorted(set(paths)))


def _dotted(deepdiff_path: str) -> str:
    """root['tags']['owner'] -> tags.owner ; root['disks'][1]['size_gb'] -> disks[1].size_gb"""
    out = deepdiff_path.removeprefix("root")
    out = out.replace("']['", ".").replace("['", ".").replace("']", "")
    return out.lstrip(".")


_UNSHARED = StepKind.CREATE_TARGET  # graph/build.py: the one step whose words name the server's target
_KIND_VALUE = {k: k.value for k in StepKind}  # the enum's .value is a descriptor call: 10 a server
RESUMED_REASON = "approved and started before an interruption: resumed without a new approval"


def _approved_and_started(record: Any, reset_from: int | None, index: int) -> bool:
    """A manual step the engine began after its gate passed (RUNNING, with who approved it), not reset since."""
    return (record is not None and record.status is StepStatus.RUNNING and bool(record.detail.get("approved_by"))
            and (reset_from is None or index < reset_from))


def _server_change(node: ServerNode, snapshot: Snapshot, reset_from: int | None,
                   moved_from: str | None = None,
                   made: dict[tuple[str, StepAction, bool, str], StepChange] | None = None,
                   statuses: dict[str, str] | None = None,
                   by_step: dict[tuple[int, str | None], StepChange] | None = None) -> ServerChange:
    """`made`: StepChanges already built, shared between servers (100,000 -> 11,161 objects at 10k servers);
    `statuses`: gate -> recorded status value (_statuses); `by_step`: the change of a graph Step (by id: the graph
    shares them between servers) with a recorded status, when the step is not running and not done before a reset
    (then the step and its status alone decide)."""
    made = {} if made is None else made
    by_step = {} if by_step is None else by_step
    statuses = _statuses(snapshot.steps) if statuses is None else statuses
    prefix = f"{moved_from or f'{node.workflow}/{node.server}'}/"
    steps = []
    for index, step in enumerate(node.steps):
        kind = _KIND_VALUE[step.kind]
        status = statuses.get(prefix + kind) if statuses else None  # a first plan: nothing recorded
        if step.kind is _UNSHARED:  # its words name the target: kept in no cache (100k entries at 100k servers)
            change = _step_change(step, kind, status, reset_from, index, snapshot.steps.get(prefix + kind)
                                  if status == _RUNNING else None, None)
        elif status != _RUNNING and (reset_from is None or status != _DONE):  # no reset or record changes it
            key = (id(step), status)
            change = by_step.get(key)
            if change is None:
                change = by_step[key] = _step_change(step, kind, status, None, index, None, made)
        else:
            change = _step_change(step, kind, status, reset_from, index, snapshot.steps.get(prefix + kind), made)
        steps.append(change)
    return ServerChange(node.workflow, node.server, node.target_name, node.os, node.used_gb, node.assumed_mbps,
                        node.estimated_seconds, tuple(steps))


def _step_change(step: Step, kind: str, status: str | None, reset_from: int | None, index: int, record: Any,
                 made: dict[tuple[str, StepAction, bool, str], StepChange] | None) -> StepChange:
    """One step of a server: `status` its recorded status value, `record` its StepRecord when it runs; `made`: the
    changes shared between servers (None: a change no other server shares)."""
    manual = step.kind in MANUAL_STEPS
    done = status == _DONE and (reset_from is None or index < reset_from)
    reason = step.reason
    if not step.enabled:
        action = StepAction.SKIP
    elif done:
        action = StepAction.DONE
    elif manual and status == _RUNNING and _approved_and_started(record, reset_from, index):
        # the gate passed and the step began (a Cutover may have reached the cloud) before a crash: it is
        # finished from what the cloud reports, without asking for the approval again
        action, reason = StepAction.RUN, RESUMED_REASON
    elif manual:
        action = StepAction.WAIT
    else:
        action = StepAction.RUN
    key = (kind, action, manual, reason)
    if made is None:
        return StepChange(*key)
    change = made.get(key)
    if change is None:
        change = made[key] = StepChange(*key)
    return change
