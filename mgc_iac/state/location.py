"""Where a stack's state is, and the refusal of a CI job that would plan or apply against nothing.

An empty `MGC_IAC_STATE` (a pull request from a fork gets no secrets or variables) used to mean "the default
SQLite file", which does not exist on a fresh runner: the plan showed every server to create, and an apply
would have created them again. With `CI` set, a location that is empty or holds no state is refused unless
the command says a new state is intended (`--new-state`).
"""

from __future__ import annotations

import os
from pathlib import Path

from mgc_iac.ci import in_ci
from mgc_iac.errors import ConfigError
from mgc_iac.state.store import StateStore

STATE_ENV = "MGC_IAC_STATE"


def require_state(location: Path | str, store: StateStore, *, new_state: bool) -> None:
    """Raise ConfigError in CI when the state location is empty or holds no state (unless `new_state`)."""
    if new_state or not in_ci():
        return
    given = os.environ.get(STATE_ENV)
    if given is not None and not given.strip():
        raise ConfigError(f"{STATE_ENV} is set but empty, so there is no state to plan or apply against (a pull "
                          "request from a fork gets no secrets or variables). Give the job the state location "
                          f"({STATE_ENV}=postgresql://USER@HOST/DB and its PGPASSWORD), or pass --new-state if "
                          "this job is meant to start a new state")
    if getattr(store, "empty", False):
        raise ConfigError(f"no state is recorded at {location}: in CI that would plan (and apply) every server as "
                          f"new. Point {STATE_ENV} (or the stack's state.url) at the stack's state, or pass "
                          "--new-state if a new state is intended (the first apply of a new backend)")
