"""Where a stack's state is, and the refusal of a CI job that would plan or apply against nothing.

An empty `MGC_IAC_STATE` (a pull request from a fork gets no secrets or variables) used to mean "the default
SQLite file", which does not exist on a fresh runner: the plan showed every server to create, and an apply
would have created them again. With `CI` set, an empty location, or a state file that is not there, is refused
unless the command says a new state is intended (`--new-state`). A database URL is a location even before the
first apply creates its tables.
"""

from __future__ import annotations

import os
from pathlib import Path

from mgc_iac.ci import in_ci
from mgc_iac.errors import ConfigError
from mgc_iac.state.store import StateStore

STATE_ENV = "MGC_IAC_STATE"
NEW_STATE_ENV = "MGC_IAC_NEW_STATE"


def require_state(location: Path | str, store: StateStore, *, new_state: bool) -> None:
    """Raise ConfigError in CI when the state location is empty or holds no state (unless `new_state`, or
    MGC_IAC_NEW_STATE=1 in the job's environment: the same, for the first jobs of a new backend)."""
    if new_state or not in_ci() or os.environ.get(NEW_STATE_ENV, "").strip().lower() in ("1", "true", "yes"):
        return
    given = os.environ.get(STATE_ENV)
    if given is not None and not given.strip():
        raise ConfigError(f"{STATE_ENV} is set but empty, so there is no state to plan or apply against (a pull "
                          "request from a fork gets no secrets or variables). Give the job the state location "
                          f"({STATE_ENV}=postgresql://USER@HOST/DB and its PGPASSWORD), or pass --new-state if "
                          "this job is meant to start a new state")
    # a database the job was pointed at is a location even before its first apply (its tables are made then);
    # a SQLite file that is not there, on a runner that is new for every job, is no state at all
    database = isinstance(location, str) and location.startswith(("postgres://", "postgresql://"))
    if getattr(store, "empty", False) and not database:
        raise ConfigError(f"no state file at {location}: on a CI runner that is new for every job this would plan "
                          f"(and apply) every server as new. Point {STATE_ENV} (or the stack's state.url) at the "
                          "team's state database, or pass --new-state if a new state is intended")
