"""The lab hosts of a lab stack (its lab-seed.yaml's `hosts:`), as mgc_iac.ssh.hosts.MigrationHosts reaches them.

One reading of the seed and the lab's setting for everyone who resolves a lab stack's hosts: the workspace (which
starts the hosts on first use, through the lab's supervisor) and a provider under Pulumi (which only finds them
running: starting is the workspace's job, and `pulumi up`'s program opens one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mgc_iac.errors import ConfigError

Inventory = dict[str, dict[str, Any]]


class SeedLabHosts:
    """mgc_iac.ssh.hosts.LabHostsAccess for the hosts a lab seed declares. `lab_dir()` gives the stack's lab
    directory and `finishes_copies()` whether that lab finishes copies by itself (both asked on first use: the
    caller resolves the lab); `start(lab_dir, seed)` starts the hosts when none run (None: only find them running)."""

    def __init__(self, seed: Path, lab_dir: Callable[[], Path], finishes_copies: Callable[[], bool],
                 start: Callable[[Path, Path], Inventory] | None = None) -> None:
        from mgc_iac.lab.hosts._spec import load_hosts_spec
        from mgc_iac.lab.sms_agent._build import LAB_EXCLUDES

        self._seed = seed
        self._lab_dir = lab_dir
        self._finishes_copies = finishes_copies
        self._start = start
        self.names = frozenset(h.name for h in load_hosts_spec(seed))
        self.where = str(seed)
        self.shared_paths = LAB_EXCLUDES
        self._guard = threading.Lock()
        self._instant: bool | None = None
        self._inventory: Inventory | None = None
        if self.names and start is not None:
            from mgc_iac.lab.requirements import require_lab_tools

            require_lab_tools()  # before any step runs: a missing program is named now, not inside a step

    def serve_copies(self) -> bool:
        """Lab hosts serve the copy unless the lab finishes copies by itself (instant_transfers)."""
        if not self.names:
            return False
        with self._guard:
            if self._instant is None:
                self._instant = self._finishes_copies()
            return not self._instant

    def inventory(self, reread: bool = False) -> Inventory:
        from mgc_iac.lab.supervisor import running_lab_hosts

        lab_dir = self._lab_dir()
        with self._guard:
            if self._inventory is None:
                found = running_lab_hosts(lab_dir)
                if found is None and self._start is not None:
                    found = self._start(lab_dir, self._seed)
                if found is None:
                    raise ConfigError(f"the lab hosts of {self.where} do not run (lab {lab_dir}): an mgc-iac command "
                                      "on the stack starts them (`mgc-iac apply`, or `pulumi up` of its program)")
                self._inventory = found
            elif reread:
                self._inventory = running_lab_hosts(lab_dir) or self._inventory
            return self._inventory
