"""The workspace an operation runs in: one stack, and what it reaches, each opened once.

    with Workspace.open("stacks/demo", state=STATE_WRITE, lock="apply") as ws:
        planned = ws.plan()                  # the stack was loaded and checked once, by open()
        ws.cloud_config                      # resolved once; a lab stack's lab found or started here, lazily
        ws.trust, ws.hosts, ws.approvals_file

`open` loads the stack, opens the state backend (and takes the stack's lock when the operation writes, before
any planning, so a second apply is told at once who holds it), gathers live facts when asked (after the lock),
then runs every rule once. Everything else is resolved on first use and kept: the cloud endpoint (for a lab
stack the lab of $MGC_IAC_LAB_DIR, started from the stack's lab-seed.yaml when none runs: with `mgc-iac lab`, the
only place that starts it), the lab hosts, the Trust that checks approvals, the approvals file. `close` (the
with-block) releases them in reverse order. Nothing here prints.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from functools import cached_property
from pathlib import Path
from typing import Any

from mgc_iac.approvals import ApprovalsFile, Trust
from mgc_iac.cloud import Cloud, cloud_account, cloud_config, cloud_for, default_lab_dir, lab_seed, provider_of
from mgc_iac.errors import StateError
from mgc_iac.operations._planning import (
    Checked,
    Planned,
    check_loaded,
    plan_checked,
    read_drift,
    state_path_for,
    trust_for,
    with_approved,
)
from mgc_iac.ssh import MigrationHosts
from mgc_iac.stack import LiveFacts, LoadedStack, load_stack
from mgc_iac.state import Snapshot, StateStore, is_url, open_for_writing, open_store, require_state

STATE_READ = "read"    # read-only: nothing created or written; a location holding nothing reads as empty (plan, status)
STATE_WRITE = "write"  # a writer's store (apply, approve, retry ...): in CI an empty location is refused (new_state)


def lab_cloud_config(spec: dict[str, Any], stack_dir: Path | None) -> dict[str, Any]:
    """The cloud config of a lab stack: the lab of $MGC_IAC_LAB_DIR (default ~/.mgc-iac/lab), found running or
    started in the background from the stack's lab-seed.yaml."""
    from mgc_iac.lab import ensure_lab

    lab_dir = default_lab_dir()
    return cloud_config(spec, ensure_lab(lab_dir, lab_seed(stack_dir)), lab_dir)


def stack_dir_of(path: Path) -> Path:
    """The stack directory of a stack path (a directory, or a stack.py / stack.yaml in it)."""
    return path if path.is_dir() else path.parent


class Workspace:
    """One stack opened for one operation (see the module doc). Use `Workspace.open(...)` as a context manager."""

    def __init__(self, loaded: LoadedStack, resources: ExitStack, new_state: bool = False) -> None:
        self.loaded = loaded
        self.new_state = new_state  # in CI, an empty state location is meant (a new backend)
        self.directory = loaded.directory
        self._resources = resources
        self._guard = threading.RLock()
        self._store: StateStore | None = None
        self._state_error: StateError | None = None
        self.facts: LiveFacts | None = None
        self.checked: Checked | None = None

    # ---- opening and closing ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, *, state: str = STATE_READ, lock: str | None = None, refresh_facts: bool = False,
             remember_facts: bool = True, new_state: bool = False, cloud: dict[str, Any] | None = None) -> Workspace:
        """Load `path`'s stack, open its state (`state`: STATE_READ or STATE_WRITE; `new_state`: in CI, an empty
        location is meant), take the stack's lock for `lock` (an operation name), gather live facts when
        `refresh_facts` (kept for later offline checks unless not `remember_facts`: a plan writes nothing), then
        check the stack. `cloud`: a cloud config to use instead of resolving one (a lab that already runs).
        Raises SpecError for load errors; rule errors are in `checked.diagnostics` (plan() refuses them)."""
        resources = ExitStack()
        try:
            ws = cls(load_stack(path), resources, new_state)
            if cloud is not None:
                ws.__dict__["cloud_config"] = cloud
            ws._open_state(state)
            if lock is not None:
                resources.enter_context(ws.store.lock(ws.name, lock))
            if refresh_facts:
                ws.facts = ws.gather_facts(remember=remember_facts)
            ws.checked = ws.check(ws.facts)
            return ws
        except BaseException:
            resources.close()
            raise

    def _open_state(self, mode: str) -> None:
        path = state_path_for(self.loaded)
        if mode == STATE_WRITE:
            self._store = open_for_writing(path, new_state=self.new_state)
        else:
            try:
                self._store = open_store(path, read_only=True)
            except StateError as exc:
                if not is_url(path):
                    raise
                self._state_error = exc  # e.g. a fork's PR without the database secret: validate goes on, plan not
                return
        self._resources.callback(self._store.close)

    def close(self) -> None:
        self._resources.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the stack ----------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.loaded.stack.metadata.name

    @property
    def spec(self) -> dict[str, Any]:
        """The canonical spec (plain JSON data)."""
        return self.loaded.canonical

    @property
    def state_path(self) -> Path | str:
        return state_path_for(self.loaded)

    def check(self, facts: LiveFacts | None = None) -> Checked:
        """Every rule on the loaded stack (with `facts`: the live ones too), against the MACs recorded in state."""
        return check_loaded(self.loaded, facts=facts, store=self._store,
                            unreachable=str(self._state_error) if self._state_error else None)

    def plan(self, *, refresh_resources: bool = False, with_facts: bool = True) -> Planned:
        """The plan of the stack against its recorded state now. `refresh_resources`: read every recorded resource
        from the cloud first (drift). `with_facts=False`: the offline plan (as `mgc-iac plan` without --refresh)."""
        assert self.checked is not None
        checked = self.checked if with_facts or self.facts is None else self.check(None)
        store = self.store
        require_state(self.state_path, store, new_state=self.new_state)  # CI: no plan against nothing
        snapshot = store.snapshot(self.name)
        drift = read_drift(snapshot, self.cloud) if refresh_resources else ()
        planned = plan_checked(checked, snapshot, refreshed=with_facts and self.facts is not None, drift=drift,
                               store=store)
        return with_approved(planned, snapshot, store, lambda: self.trust)  # which gates pass at the next apply

    # ---- the state ----------------------------------------------------------------------------------------

    @property
    def store(self) -> StateStore:
        """The open state backend (a StateError when it could not be opened). Read-only in STATE_READ mode: every
        write is refused there (an EmptyStore where nothing is recorded yet)."""
        if self._state_error is not None:
            raise self._state_error
        assert self._store is not None
        return self._store

    @property
    def has_state(self) -> bool:
        """Whether any state is recorded where the stack's state lives."""
        return self._store is not None and not getattr(self._store, "empty", False)

    def snapshot(self) -> Snapshot:
        """The stack's recorded state (empty when nothing is recorded)."""
        return self.store.snapshot(self.name)

    # ---- the cloud, the lab and its hosts -----------------------------------------------------------------

    @cached_property
    def cloud_config(self) -> dict[str, Any]:
        """The non-secret cloud description (resolved once; a lab stack's lab is found or started here)."""
        with self._guard:
            if "cloud_config" in self.__dict__:  # another thread resolved it meanwhile
                return self.__dict__["cloud_config"]
            if provider_of(self.spec) == "lab":
                return lab_cloud_config(self.spec, self.directory)
            return cloud_config(self.spec)

    @property
    def cloud(self) -> Cloud:
        return cloud_for(self.cloud_config)

    @cached_property
    def cloud_account(self) -> str:
        """provider/region/project of the cloud the stack migrates into (what approvals are signed for)."""
        if provider_of(self.spec) == "huaweicloud":
            return cloud_account(cloud_config(self.spec))  # from the environment: no cloud call, no lab
        return cloud_account(self.cloud_config)

    @cached_property
    def hosts(self) -> MigrationHosts:
        """The SSH hosts of the stack's servers (lab hosts started on first use)."""
        seed = lab_seed(self.directory) if provider_of(self.spec) == "lab" else None
        if seed is None:
            return MigrationHosts(self.spec)
        from mgc_iac.cloud import lab_dir_of, lab_finishes_copies
        from mgc_iac.lab import SeedLabHosts, ensure_lab_hosts

        return MigrationHosts(self.spec, SeedLabHosts(seed, lambda: lab_dir_of(self.cloud_config),
                                                      lambda: lab_finishes_copies(self.cloud_config),
                                                      start=ensure_lab_hosts))

    # ---- approvals ----------------------------------------------------------------------------------------

    @cached_property
    def trust(self) -> Trust:
        """How approvals are checked here: this state backend's id, this cloud account, the stack's signers."""
        return trust_for(self.name, self.spec, self.directory, self.store, account=self.cloud_account)

    @cached_property
    def approvals_file(self) -> ApprovalsFile | None:
        from mgc_iac.approvals import approvals_path, load_approvals_file

        path = approvals_path(self.directory)
        return load_approvals_file(path) if path is not None else None

    # ---- live facts ---------------------------------------------------------------------------------------

    def gather_facts(self, *, remember: bool = True) -> LiveFacts:
        """The live facts the rules need (cloud and sources); `remember`: the KMS keys seen are kept beside the
        state for later offline checks (validate, apply; never plan, which writes nothing)."""
        from mgc_iac.operations._refresh import gather_facts
        from mgc_iac.stack import remember_keys

        facts = gather_facts(self.loaded, self.cloud, self.hosts)
        if remember:
            remember_keys(self.state_path, self.name, facts.keys)
        return facts
