"""stack -> graph -> plan: load a stack, check it, diff it against recorded state (the workspace and the public
API's plan_stack call these)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from mgc_iac._gc import gc_paused
from mgc_iac.diagnostics import Diagnostics
from mgc_iac.errors import MgcIacError, SpecError, StateError
from mgc_iac.graph import Graph, build_graph
from mgc_iac.plan import Plan, Provenance, make_plan
from mgc_iac.stack import LiveFacts, LoadedStack, check_stack, load_stack
from mgc_iac.state import (
    Snapshot,
    StateStore,
    default_state_path,
    is_url,
    open_store,
    require_state,
    state_exists,
)


@dataclass(frozen=True)
class Checked:
    """A stack that loaded, with every diagnostic the rules found."""

    loaded: LoadedStack
    diagnostics: Diagnostics
    state_path: Path | str  # a SQLite file or a postgresql:// URL


@dataclass(frozen=True)
class Planned:
    checked: Checked
    graph: Graph
    plan: Plan
    approved: dict = field(default_factory=dict)  # gate -> approvals.status.GateApproval: passes at the next apply


def state_path_for(loaded: LoadedStack) -> Path | str:
    return default_state_path(loaded.directory, loaded.stack.state.path, loaded.stack.state.url)


def check(stack_path: Path | str, *, facts: LiveFacts | None = None, store: StateStore | None = None) -> Checked:
    """Load and run every rule. Raises SpecError for load errors; rule errors are in `diagnostics`.
    Reads other stacks' MACs from the state backend when it exists; never creates or writes it."""
    return check_loaded(load_stack(stack_path), facts=facts, store=store)


def check_loaded(loaded: LoadedStack, *, facts: LiveFacts | None = None, store: StateStore | None = None,
                 unreachable: str | None = None) -> Checked:
    """Run every rule on a loaded stack (see check). `store`: the state backend already open (its MACs of the
    other stacks); `unreachable`: why the state could not be opened (the MACs are then not checked: a warning)."""
    path = state_path_for(loaded)
    other_macs: dict[str, tuple[str, str]] = {}
    name = loaded.stack.metadata.name
    if store is not None:
        other_macs = store.macs_elsewhere(name)
    elif unreachable is None and state_exists(path):
        try:
            owned = open_store(path, read_only=True)
        except StateError as exc:
            if not is_url(path):
                raise
            owned, unreachable = None, str(exc)  # e.g. a fork's PR without the database secret: validate goes on
        if owned is not None:
            try:
                other_macs = owned.macs_elsewhere(name)
            finally:
                owned.close()
    from mgc_iac.stack import load_known_keys

    known = load_known_keys(loaded.directory, loaded.stack.cloud.provider, path, name)
    with gc_paused():  # the rules walk every server and allocate no cycles: no collector passes over the stack
        diagnostics = check_stack(loaded, facts, other_macs, known)
    if unreachable:
        diagnostics.warning(f"the MACs of the other stacks were not checked: {unreachable}", path="state",
                            fix="give the job the state database (its URL and PGPASSWORD) to check them", rule="state")
    return Checked(loaded, diagnostics, path)


def plan_stack(
    stack_path: Path | str,
    *,
    facts: LiveFacts | None = None,
    store: StateStore | None = None,
    refresh_resources: bool = False,
    cloud=None,  # mgc_iac.cloud.Cloud: where drift is read (needed with refresh_resources and recorded resources)
    new_state: bool = False,
    trusted_ref: str | None = None,
) -> Planned:
    """Check the stack and diff it against recorded state. Raises SpecError when any rule fails.
    `refresh_resources`: read every recorded resource from the cloud first, so the plan shows and repairs
    what changed outside mgc-iac (raises DriftRefusedError for a production target changed outside).
    Never writes the state (it is opened read-only unless the caller passes its own `store`); in CI, a state
    location that is empty or holds nothing is refused unless `new_state` (state/location.py). The approval
    policy in force comes from the last apply's record, or the stack at `trusted_ref` ($MGC_IAC_TRUSTED_REF);
    the plan shows it and what the spec would change in it (approvals/policy.py). Never starts a lab (the
    workspace does, mgc_iac.operations._workspace)."""
    with gc_paused():  # one pause over the phases: the collections between them walked the whole stack again
        return _plan_stack(stack_path, facts, store, refresh_resources, cloud, new_state, trusted_ref)


def _plan_stack(stack_path: Path | str, facts: LiveFacts | None, store: StateStore | None, refresh_resources: bool,
                cloud, new_state: bool, trusted_ref: str | None) -> Planned:
    checked = check(stack_path, facts=facts, store=store)
    if checked.diagnostics.has_errors:
        raise SpecError(checked.diagnostics)
    owned = store is None
    reader = open_store(checked.state_path, read_only=True) if store is None else store
    try:
        require_state(checked.state_path, reader, new_state=new_state)
        snapshot = reader.snapshot(checked.loaded.stack.metadata.name)
        drift = read_drift(snapshot, cloud) if refresh_resources else ()
        planned = plan_checked(checked, snapshot, refreshed=facts is not None, drift=drift, store=reader,
                               trusted_ref=trusted_ref)
        directory = checked.loaded.directory
        planned = with_approved(planned, snapshot, reader,
                                lambda: _trust_offline(planned.plan, directory, reader, trusted_ref))
    finally:
        if owned:
            reader.close()
    return planned


def plan_checked(checked: Checked, snapshot: Snapshot, *, refreshed: bool = False, drift: tuple = (),
                 store: StateStore | None = None, trusted_ref: str | None = None) -> Planned:
    """The plan of a checked stack (no rule errors) against `snapshot`: graph, then diff, then the approval policy
    in force (from `store`'s record of the last apply, or the stack at `trusted_ref`)."""
    if checked.diagnostics.has_errors:
        raise SpecError(checked.diagnostics)
    loaded = checked.loaded
    with gc_paused():  # graph, digest and diff: millions of acyclic objects between the phases' own pauses
        graph = build_graph(loaded.stack)
        plan = make_plan(graph, snapshot, spec_digest=loaded.digest, spec=loaded.canonical,
                         warnings=checked.diagnostics.warnings, refreshed=refreshed,
                         provenance=provenance(loaded.directory), drift=drift)
    applied = store.last_applied(loaded.stack.metadata.name) if store is not None else None
    plan = with_policy(plan, applied.policy if applied else None, loaded.directory, trusted_ref)
    return Planned(checked, graph, plan)


def with_policy(plan: Plan, recorded: dict | None, directory: Path, trusted_ref: str | None = None) -> Plan:
    """The plan with the approval policy in force and what the spec changes in the trusted one."""
    import os
    from dataclasses import replace

    from mgc_iac.approvals import compare, spec_policy, strictest, trusted_base

    proposed = spec_policy(plan.spec, directory)
    base = trusted_base(recorded, directory, trusted_ref or os.environ.get("MGC_IAC_TRUSTED_REF") or None)
    if base is None:
        current = replace(proposed, source="the spec (no apply recorded a policy yet: the first apply records it)")
        change = None
    else:
        current, change = strictest(base, proposed), compare(base, proposed)
    return replace(plan, policy={**current.record(), "source": current.source},
                   policy_change=change.to_dict() if change else None)


def trust_for(stack: str, spec: dict, stack_dir: Path | None, store: StateStore, *, account: str,  # -> Trust
              trusted_ref: str | None = None):
    """How `stack`'s approvals are checked against this state backend and this cloud account (`account`, which the
    workspace resolves), under the policy the last apply recorded in this state (or the stack at a trusted ref:
    `trusted_ref`, else MGC_IAC_TRUSTED_REF)."""
    import os

    from mgc_iac.approvals import trust_for as trust_given

    recorded = store.last_applied(stack)
    return trust_given(stack, spec, stack_dir, environment_id=store.environment_id(), account=account,
                       recorded_policy=recorded.policy if recorded else None,
                       trusted_ref=trusted_ref or os.environ.get("MGC_IAC_TRUSTED_REF") or None)


def _trust_offline(plan: Plan, directory: Path, store: StateStore, trusted_ref: str | None = None):  # -> Trust
    """The Trust of a plan made from a path: the cloud account read without starting anything (a lab that does
    not run: a ConfigError, and the plan then says the gates wait)."""
    from mgc_iac.cloud import cloud_account, cloud_config, default_lab_dir, provider_of

    lab_dir = default_lab_dir() if provider_of(plan.spec) == "lab" else None
    account = cloud_account(cloud_config(plan.spec, lab_dir=lab_dir))
    return trust_for(plan.stack, plan.spec, directory, store, account=account, trusted_ref=trusted_ref)


def with_approved(planned: Planned, snapshot: Snapshot, store: StateStore, trust) -> Planned:  # trust: () -> Trust
    """`planned` with the gates whose approvals (state and approvals.yaml, signatures verified) let them pass at the
    next apply; `trust()` is asked only when there are gates and approvals to check."""
    from dataclasses import replace

    from mgc_iac.approvals import approvals_path, approved_gates, combine, load_approvals_file, policy_of
    from mgc_iac.plan import plan_digest
    from mgc_iac.state import StepStatus, step_statuses

    plan, directory = planned.plan, planned.checked.loaded.directory
    if getattr(store, "empty", False):  # nothing recorded yet: no environment, nothing approved
        return planned
    file_path = approvals_path(directory)
    recorded = store.approvals(plan.stack)
    if not (recorded or file_path is not None) or not plan.gates():  # the cheap test first: 20k gates at 10k servers
        return planned
    # statuses only: the snapshot builds a step's record when asked for it
    waiting = {g for g, status in step_statuses(snapshot.steps).items() if status == StepStatus.WAITING.value}
    try:
        checker = trust()
        counted, rejected = checker.check(combine(load_approvals_file(file_path) if file_path else None, recorded))
        authors = checker.authors(store.plan_signatures(plan.stack, plan.spec_digest), plan.spec_digest)
    except MgcIacError:  # a broken approvals file or signers list: apply names it; the plan says "waits"
        return planned
    return replace(planned, approved=approved_gates(plan, plan_digest(plan), counted,
                                                    checker.policy or policy_of(plan.spec), authors, waiting,
                                                    rejected))


def read_drift(snapshot: Snapshot, cloud) -> tuple:  # cloud: mgc_iac.cloud.Cloud -> tuple[Drift, ...]
    """What the cloud reports differently from the stack's records (nothing recorded: no cloud call)."""
    if not snapshot.resources:
        return ()
    if cloud is None:
        raise ValueError("read_drift needs the stack's cloud (Workspace.cloud)")
    from mgc_iac.drift import find_drift, read_live

    return find_drift(snapshot, read_live(snapshot, cloud))


def provenance(directory: Path) -> Provenance:
    from importlib.metadata import PackageNotFoundError, version

    try:
        tool = version("mgc-iac")
    except PackageNotFoundError:  # running from a source tree
        tool = "dev"
    return Provenance(git_commit=_git(directory, "rev-parse", "HEAD"), author=None, tool_version=tool,
                      stack_dir=_relative(directory))


def _relative(directory: Path) -> str:
    """The stack directory as a path relative to the working directory (absolute when outside it)."""
    try:
        return directory.resolve().relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return directory.resolve().as_posix()


def _git(directory: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
