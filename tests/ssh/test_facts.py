"""Facts: golden fixtures {fact, command output, expected value} need no host; then the script on lab hosts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from mgc_iac.errors import SSHCommandError
from mgc_iac.lab.hosts import LabHosts
from mgc_iac.ssh import LocalConnector, SSHConnector, facts_script, gather_facts, parse_facts
from mgc_iac.ssh.facts import ALL_FACTS

CASES = json.loads((Path(__file__).parent / "golden" / "cases.json").read_text())
BY_NAME = {f.name: f for f in ALL_FACTS}


def plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


@pytest.mark.parametrize("case", CASES, ids=[f"{c['fact']}-{i}" for i, c in enumerate(CASES)])
def test_golden_fact(case: dict[str, Any]) -> None:
    fact = BY_NAME[case["fact"]]
    assert plain(fact.value(case["output"])) == case["expected"]


def test_every_fact_has_a_golden_case_and_a_default() -> None:
    assert {c["fact"] for c in CASES} >= set(BY_NAME) - {"hostname"}
    assert all(f.value("") == f.default for f in ALL_FACTS)


def test_script_is_posix_sh_and_prints_parseable_json() -> None:
    script = facts_script()
    assert subprocess.run(["dash", "-n"], input=script, text=True, check=False).returncode == 0
    out = subprocess.run(["dash", "-s"], input=script, text=True, capture_output=True, check=True).stdout
    facts = parse_facts(out)
    assert facts.hostname == subprocess.run(["uname", "-n"], capture_output=True, text=True).stdout.strip()
    assert facts.cpu_count >= 1 and facts.memory_available_kb > 0 and "/" in facts.free_kb


def test_garbage_output_is_a_clear_error() -> None:
    with pytest.raises(SSHCommandError, match="not its JSON"):
        parse_facts("bash: line 1: syntax error")


def test_local_connector_gathers_the_same_facts() -> None:
    import asyncio

    facts = asyncio.run(gather_facts(LocalConnector()))
    assert facts.identity.uid >= 0 and facts.os.family == "linux"


def test_lab_hosts_report_their_own_declared_facts(lab: LabHosts) -> None:
    async def scenario() -> tuple[Any, Any]:
        async with SSHConnector(lab.settings("web-01")) as web, SSHConnector(lab.settings("db-01")) as db:
            return await gather_facts(web), await gather_facts(db)

    web, db = lab.loop.run_until_complete(scenario())
    assert (web.hostname, web.macs, web.cpu_count, web.os.id, web.os.version_id) == (
        "web-01", ("fa:16:3e:00:00:01",), 2, "ubuntu", "22.04")
    assert web.memory_total_kb == 4096 * 1024 and web.memory_available_kb == 3000 * 1024
    assert web.rsync_present and web.sudo == "root"
    assert (db.hostname, db.macs, db.cpu_count, db.os.id, db.load1) == (
        "db-01", ("fa:16:3e:00:00:02",), 4, "centos", 3.9)
    assert not db.rsync_present
