"""What a reviewer sees in `mgc-iac plan` output: text, markdown (PR comment) and JSON renderings."""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from mgc_iac.diagnostics import Diagnostic, Diagnostics, Severity
from mgc_iac.operations._planning import plan_stack
from mgc_iac.plan.model import Plan
from mgc_iac.plan.planfile import plan_digest, plan_to_dict
from mgc_iac.render import render_diagnostics, render_plan
from mgc_iac.render.filters import human_duration, md_cell, mermaid_id
from mgc_iac.state import ResourceRecord, SQLiteStore, StepRecord, StepStatus

DEMO = Path(__file__).resolve().parents[1] / "stacks" / "demo"
ANSI = "\x1b["
SUMMARY_EMPTY_STATE = ("Plan: 5 to create, 0 to update, 0 to replace, 0 to delete, 0 to forget; "
                       "14 steps to run; 4 gates await approval.")


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MGC_IAC_STATE", str(tmp_path / "state.db"))
    return Path(shutil.copytree(DEMO, tmp_path / "demo"))


def _seed(stack: Path, *, attrs_edit: dict[str, dict] | None = None, extra: list[ResourceRecord] = (),
          done: dict[str, list[str]] | None = None) -> None:
    """Record state as a previous apply would have: every desired resource (with `attrs_edit` overrides of
    the recorded attrs), extra recorded resources, and DONE steps per server."""
    graph = plan_stack(stack).graph
    store = SQLiteStore(Path(os.environ["MGC_IAC_STATE"]))
    try:
        with store.transaction("demo") as txn:
            for address, res in graph.resources.items():
                attrs = {**res.attrs, **(attrs_edit or {}).get(address, {})}
                txn.put_resource(ResourceRecord(address, res.kind, res.workflow, res.server, attrs))
            for record in extra:
                txn.put_resource(record)
            for server_addr, steps in (done or {}).items():
                wf, server = server_addr.split("/")
                for step in steps:
                    txn.put_step(StepRecord(wf, server, step, StepStatus.DONE))
    finally:
        store.close()


def _orphan(wf: str, server: str) -> ResourceRecord:
    return ResourceRecord(f"{wf}/{server}/target_server", "target_server", wf, server, {"name": server})


@pytest.fixture
def mixed(stack: Path) -> Plan:
    """update (tags), replace (vpc) and its cascaded task replace, delete, forget (cut over), a hidden no-op,
    a removed workflow, and done/run/skip/wait steps."""
    _seed(stack,
          attrs_edit={"shop-wave-1/web-01/target_server": {"tags": {"app": "shop", "owner": "old-team"}},
                      "shop-wave-1/db-01/target_server": {"vpc": "vpc-old"}},
          extra=[_orphan("shop-wave-1", "old-01"), _orphan("shop-wave-1", "gone-01"), _orphan("old-wave", "x-01")],
          done={"shop-wave-1/web-01": ["CreateTarget", "StartUpAgent", "StartMigration"],
                "shop-wave-1/db-01": ["CreateTarget"], "shop-wave-1/gone-01": ["Cutover"]})
    return plan_stack(stack).plan


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


# --- text ---------------------------------------------------------------------------------------------


def test_text_against_empty_state_lists_steps_gates_estimates_and_summary(stack: Path) -> None:
    plan = plan_stack(stack).plan
    text = render_plan(plan, digest="sha256:" + "a" * 64)
    lines = _lines(text)
    assert "+ shop-wave-1/web-01/target_server (target_server)" in lines
    assert lines[-2:] == [SUMMARY_EMPTY_STATE, "Plan digest: sha256:" + "a" * 64]
    assert ("gate  BusinessValidation    waits for approval of shop-wave-1/web-01/BusinessValidation: "
            "check the services on the target") in lines
    assert "skip  ResizeDiskPartition   no target disk shrinks" in lines
    # db-01: 70 GB at 200 Mbit/s shared by 2 servers
    assert "db-01 -> db-01-hw: linux, 70 GB at 100 Mbit/s, estimated migration 1 h 36 min" in lines
    assert "Plan digest" not in render_plan(plan)


def test_text_shows_every_resource_action_with_changed_leaves_and_replace_reasons(mixed: Plan) -> None:
    lines = _lines(render_plan(mixed))
    assert lines[-1] == ("Plan: 0 to create, 1 to update, 2 to replace, 2 to delete, 1 to forget; "
                         "11 steps to run; 4 gates await approval.")
    assert "~ shop-wave-1/web-01/target_server (target_server) updated in place" in lines
    assert '~ tags.owner: "old-team" -> "platform"' in lines
    replaced = lines.index("-/+ shop-wave-1/db-01/target_server (target_server) must be replaced")
    assert lines[replaced + 1:replaced + 3] == ['~ vpc: "vpc-old" -> "vpc-shop"',
                                                "because: vpc: a server cannot move to another VPC"]
    assert "-/+ shop-wave-1/db-01/migration_task (migration_task) must be replaced" in lines
    assert "because: target: its target server is replaced" in lines
    assert "- shop-wave-1/old-01/target_server (target_server) will be deleted" in lines
    assert "forget shop-wave-1/gone-01/target_server (target_server)" in lines
    assert "Workflow old-wave (removed from the spec)" in lines
    assert "done  CreateTarget          create web-01-hw (s6.large.2, encrypted disks)" in lines
    # a replaced target restarts its server from CreateTarget even though it was done
    db = lines.index("db-01 -> db-01-hw: linux, 70 GB at 100 Mbit/s, estimated migration 1 h 36 min")
    assert lines[db + 1].startswith("run   CreateTarget")


def test_unchanged_resources_are_hidden_unless_asked(mixed: Plan) -> None:
    hidden = render_plan(mixed)
    assert "web-01/migration_task" not in hidden
    assert "(2 unchanged resources not shown)" in _lines(hidden)
    shown = render_plan(mixed, show_noop=True)
    assert "shop-wave-1/web-01/migration_task (migration_task)" in _lines(shown)
    assert "not shown" not in shown


def test_nothing_to_do_says_no_changes(stack: Path) -> None:
    every_step = ["CreateTarget", "StartUpAgent", "StartMigration", "StartSynchronization", "VerifyConsistency",
                  "BusinessValidation", "Cutover", "SourceClear", "MigrationTaskClear"]
    _seed(stack, done={"shop-wave-1/web-01": every_step, "shop-wave-1/db-01": every_step})
    plan = plan_stack(stack).plan
    text = render_plan(plan)
    assert text.startswith("No changes.")
    assert "nothing to run (9 done, 1 skipped)" not in text  # servers with nothing to do stay quiet...
    assert "Servers:" not in text
    assert _lines(text)[-1] == ("Plan: 0 to create, 0 to update, 0 to replace, 0 to delete, 0 to forget; "
                                "0 steps to run; 0 gates await approval.")
    assert "**No changes.**" in render_plan(plan, "markdown")


def test_warnings_show_file_line_path_message_and_fix(stack: Path) -> None:
    wf_file = stack / "workflows.yaml"
    wf_file.write_text(wf_file.read_text().replace("include_paths: [/srv, /data]", "include_paths: [/var/www, /data]"))
    line = next(i for i, text in enumerate(wf_file.read_text().splitlines(), 1) if "include_paths" in text)
    plan = plan_stack(stack).plan
    expected = (f"workflows.yaml:{line}: workflows[0].verification_policy.include_paths[0]: /var/www is under /var, "
                "which verification always excludes on Linux: it will show 0 files; verify paths outside it")
    text = render_plan(plan)
    assert "Warnings:" in text
    assert any(ln.startswith("warning: ") and ln.endswith(expected) for ln in _lines(text))
    # as GitHub shows it (the markdown source escapes the brackets and underscores of the path)
    assert expected in MarkdownIt("commonmark").enable("table").render(render_plan(plan, "markdown"))


def test_colour_codes_only_when_asked(mixed: Plan) -> None:
    assert ANSI not in render_plan(mixed)
    coloured = render_plan(mixed, color=True)
    assert ANSI in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == render_plan(mixed)
    assert ANSI not in render_plan(mixed, "markdown", color=True)
    assert ANSI not in render_plan(mixed, "json", color=True)


# --- json ---------------------------------------------------------------------------------------------


def test_json_is_the_plan_file_layout(mixed: Plan) -> None:
    text = render_plan(mixed, "json")
    assert json.loads(text) == plan_to_dict(mixed)
    assert text == json.dumps(plan_to_dict(mixed), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_unknown_format_is_refused(mixed: Plan) -> None:
    with pytest.raises(ValueError, match="unknown plan format 'yaml'"):
        render_plan(mixed, "yaml")


# --- markdown -----------------------------------------------------------------------------------------


def _mermaid_blocks(markdown: str) -> list[list[str]]:
    return [block.strip("\n").splitlines() for block in re.findall(r"```mermaid\n(.*?)```", markdown, re.S)]


def test_markdown_summary_table_and_footer(mixed: Plan) -> None:
    md = render_plan(mixed, "markdown")
    assert md.startswith("## mgc-iac plan for stack `demo`")
    assert "| 0 | 1 | 2 | 2 | 1 | 0 | 11 | 4 |" in md
    assert f"Plan digest `{plan_digest(mixed)}` · state serial {mixed.state_serial}" in md
    assert "git commit (not in a git repository)" in md  # the stack was copied outside the repository
    assert "**Approval required:** apply stops at the 4 gates listed above" in md
    assert "vpc: a server cannot move to another VPC" in md
    assert "`vpc: \"vpc-old\" -> \"vpc-shop\"`" in md


def test_markdown_server_table_has_estimates_bandwidth_and_gates(stack: Path) -> None:
    md = render_plan(plan_stack(stack).plan, "markdown")
    assert ("| db-01 | db-01-hw | linux | 70 GB | 100 Mbit/s | 1 h 36 min | 7 run, 0 done, 1 skipped "
            "| ⏸ BusinessValidation, ⏸ Cutover |") in md


def test_markdown_mermaid_flowchart_is_well_formed(mixed: Plan) -> None:
    blocks = _mermaid_blocks(render_plan(mixed, "markdown"))
    assert len(blocks) == 1  # the removed workflow has no servers, so no chart
    lines = [ln.strip() for ln in blocks[0]]
    assert lines[0] == "flowchart LR"
    nodes = dict(re.fullmatch(r'(\w+)\["([^"]*)"\]', ln).groups() for ln in lines if "[" in ln and "--" not in ln)
    assert len(nodes) == 10
    edges = [re.fullmatch(r"(\w+) (-->|-\.->)(?:\|[^|]*\|)? (\w+)", ln).groups() for ln in lines if "->" in ln]
    assert all(a in nodes and b in nodes for a, _, b in edges)
    assert nodes["n_Cutover"] == "Cutover (manual gate)"
    gate_classes = next(ln for ln in lines if ln.endswith(" gate") and ln.startswith("class "))
    assert gate_classes == "class n_BusinessValidation,n_Cutover gate"
    assert "class n_ResizeDiskPartition skipped" in lines
    assert ("n_StartMigration", "-.->", "n_ResizeDiskPartition") in edges  # skipped steps are dashed
    assert ("n_CreateTarget", "-->", "n_StartUpAgent") in edges


def test_markdown_hides_noops_and_names_removed_workflows(mixed: Plan) -> None:
    md = render_plan(mixed, "markdown")
    assert "### Workflow `old-wave` (removed from the spec)" in md
    assert "_2 unchanged resources not shown._" in md
    assert "`shop-wave-1/web-01/migration_task`" not in md


# --- helpers and diagnostics --------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "shown"), [
    (0, "0 s"), (45, "45 s"), (983, "16 min"), (3600, "1 h"), (5700, "1 h 35 min"), (90000, "1 d 1 h")])
def test_human_duration(seconds: int, shown: str) -> None:
    assert human_duration(seconds) == shown


def test_mermaid_ids_and_markdown_cells_are_safe() -> None:
    assert re.fullmatch(r"\w+", mermaid_id("wave-1/web.01", "Cutover"))
    assert md_cell("a|b") == "a\\|b"


def test_render_diagnostics_errors_first_then_count(stack: Path) -> None:
    diags = Diagnostics([
        Diagnostic(Severity.WARNING, "retaining source IPs can conflict", path="workflows[0].advanced.retain_ip",
                   fix="keep the sources off the target network", file="workflows.yaml", line=19),
        Diagnostic(Severity.ERROR, "port 8899 is reserved", path="workflows[0].migration_port",
                   fix="use 22 or a port in 10000-65535", file="workflows.yaml", line=15),
    ])
    diags.error("unknown field", path="metadata.owner", fix="remove it", file="stack.yaml", line=7)
    text = render_diagnostics(diags)
    assert _lines(text) == [
        "error: workflows.yaml:15: workflows[0].migration_port: port 8899 is reserved; use 22 or a port in "
        "10000-65535",
        "error: stack.yaml:7: metadata.owner: unknown field; remove it",
        "warning: workflows.yaml:19: workflows[0].advanced.retain_ip: retaining source IPs can conflict; "
        "keep the sources off the target network",
        "2 errors, 1 warning",
    ]
    assert ANSI not in text and ANSI in render_diagnostics(diags, color=True)
    assert _lines(render_diagnostics([])) == ["No problems found.", "0 errors, 0 warnings"]


def test_bandwidth_share_is_marked_assumed_without_a_limit(stack: Path) -> None:
    wf_file = stack / "workflows.yaml"
    wf_file.write_text(wf_file.read_text().replace("      bandwidth_limit_mbps: 200\n", ""))
    plan = plan_stack(stack).plan
    assert ("web-01 -> web-01-hw: linux, 12 GB at 100 Mbit/s (assumed: no bandwidth limit), estimated migration "
            "16 min") in _lines(render_plan(plan))
    assert "| 12 GB | 100 Mbit/s (assumed) | 16 min |" in render_plan(plan, "markdown")


def test_big_workflows_fold_their_server_table(mixed: Plan) -> None:
    one = mixed.server_changes[0]
    many = replace(mixed, server_changes=tuple(replace(one, server=f"srv-{i:02d}") for i in range(11)))
    md = render_plan(many, "markdown")
    assert "<details><summary>11 servers</summary>" in md
    assert md.count("| srv-") == 11
    assert "<details>" not in render_plan(mixed, "markdown")


def test_the_symbols_legend_fits_80_columns(tmp_path):
    """One short legend line (it was 170 characters on every plan)."""
    from mgc_iac.operations._planning import plan_stack
    from mgc_iac.render import render_plan

    text = render_plan(plan_stack(shutil.copytree(DEMO, tmp_path / "demo")).plan, "text")
    [legend] = [line for line in text.splitlines() if line.startswith("Symbols:")]
    assert len(legend) <= 80 and "-/+ replace" in legend and "-> move" in legend
