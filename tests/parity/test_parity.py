"""Parity of the lab with the SDK 3.1.219 over every operation the client layer calls (mgc_iac.lab.parity):
the list comes from the client's own source; each operation's SDK path must be routed by the lab to that
operation, the body the SDK serialized must be accepted and fit the SDK request model, and every answer must fit
the SDK response model. The README's parity table is generated from this check and must not drift."""

from __future__ import annotations

import re

import pytest

from mgc_iac.lab import parity
from mgc_iac.lab.parity_allowlist import ALLOWED


@pytest.fixture(scope="module")
def rows() -> list[parity.Row]:
    return parity.check(parity.documented_examples())


def test_the_call_list_is_the_clients_own() -> None:
    calls = parity.client_calls()
    sources = "".join(p.read_text() for p in parity.CLOUD_DIR.glob("_*.py"))
    written = set(re.findall(r"\.call\(\s*\"(\w+)\"", sources))
    assert {c.operation for c in calls} == written
    assert {"show_task", "create_task", "show_consistency_result", "show_server", "list_servers"} <= written
    for call in calls:
        info = parity.http_info(call)
        assert info["response_type"].endswith("Response") and info["resource_path"].startswith("/")


def test_every_operation_is_routed_served_and_answered_inside_the_sdk_model(rows: list[parity.Row]) -> None:
    wrong = {f"{r.service}.{r.operation}": (r.routed, r.served, r.problems) for r in rows if not r.ok}
    assert wrong == {}


def test_the_allowlist_names_only_differences_that_still_exist(rows: list[parity.Row]) -> None:
    used = {(r.operation, a.split(":")[0]) for r in rows for a in r.allowed}
    assert set(ALLOWED) <= used, f"stale allowlist entries: {set(ALLOWED) - used}"


def test_the_readme_table_is_the_generated_one(rows: list[parity.Row]) -> None:
    text = parity.README.read_text()
    assert parity.BEGIN in text and parity.END in text
    assert parity.render_readme(text, parity.table(rows)) == text, (
        "the parity table in mgc_iac/lab/README.md is stale: run `python -m mgc_iac.lab.parity --write`")


def test_the_check_sees_an_answer_outside_the_model() -> None:
    """The same check the table comes from catches what the lab used to answer (a string current_task)."""
    import huaweicloudsdksms.v3.model as sms

    from mgc_iac.cloud.contract import problems

    found = problems({"id": "s", "current_task": "task-id", "macs": ["fa:16:3e:00:00:01"]}, "ShowServerResponse", sms)
    assert found == ["$.current_task: str where the SDK declares the object TaskByServerSource",
                     "$.macs: not declared by ShowServerResponse"]
