"""Account-wide MAC uniqueness is enforced where the sources are recorded, in one transaction: two stacks
with the same MACs applied at once by two processes cannot both take them (issue 9, item 6)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mgc_iac.errors import MacConflictError
from mgc_iac.state import SourceRecord, open_store

REPO = Path(__file__).resolve().parents[2]


def test_two_concurrent_applies_cannot_both_take_a_mac(stack_dir: Path, tmp_path: Path, isolated_state: Path) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(stack_dir, twin)
    spec = yaml.safe_load((twin / "stack.yaml").read_text())
    spec["metadata"]["name"] = "twin"  # another stack, the same sources (the same MACs)
    (twin / "stack.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    env = {**os.environ, "PYTHONPATH": str(REPO), "MGC_IAC_LAB_DIR": str(tmp_path / "lab"), "NO_COLOR": "1"}
    command = [sys.executable, "-c", "from mgc_iac.cli import main; main()", "apply", "--auto-approve"]
    procs = [subprocess.Popen([*command, str(d)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for d in (stack_dir, twin)]  # their lab: stopped by isolated_lab
    results = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [1, 3], results  # one stops at its gates, the other is refused before anything runs
    loser = next(err for code, _, err in results if code == 1)
    assert "is already migrated by source" in loser and "fa:16:3e" in loser
    store = open_store(isolated_state)
    try:
        claimed = {stack for stack, _source in store.macs_elsewhere("(none)").values()}
        assert len(claimed) == 1  # the MACs belong to one stack only
        owners = {store.snapshot(s).stack for s in store.stacks() if store.snapshot(s).steps}
        assert owners == claimed  # and only that stack ran any step
    finally:
        store.close()


def test_the_claim_is_checked_inside_the_transaction(isolated_state: Path) -> None:
    store = open_store(isolated_state)
    try:
        with store.transaction("a") as txn:
            txn.set_sources([SourceRecord("a", "web-01", "fa:16:3e:00:00:01")])
        taken = "already migrated by source web-01 of stack `a`"
        with pytest.raises(MacConflictError, match=taken), store.transaction("b") as txn:
            txn.set_sources([SourceRecord("b", "web", "fa:16:3e:00:00:01"), SourceRecord("b", "x", "fa:16:3e:0:0:9")])
        assert store.macs_elsewhere("a") == {}  # b's transaction rolled back: none of its sources is recorded
        assert store.serial("b") == 0
    finally:
        store.close()
