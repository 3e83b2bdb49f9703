"""Rules of issue 23's workflow fields: waves (`depends_on`), test launch, automated checks. Same shape as
spec/rules.py (each appends located diagnostics to a RuleContext)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mgc_iac.stack.models import CommandCheck
from mgc_iac.stack.waves import find_cycle

if TYPE_CHECKING:
    from mgc_iac.stack.rule_context import RuleContext


def rule_depends_on(ctx: RuleContext) -> None:
    import difflib

    names = [wf.name for wf in ctx.stack.workflows]
    for i, wf in enumerate(ctx.stack.workflows):
        for j, dep in enumerate(wf.depends_on):
            if dep not in names:
                close = difflib.get_close_matches(dep, names, n=1, cutoff=0.6)
                hint = f"did you mean `{close[0]}`?" if close else ""
                ctx.error(("workflows", i, "depends_on", j), f"workflow `{wf.name}` depends on `{dep}`, which is "
                          "not a workflow of this stack", (hint + " " if hint else "") + "name one of: "
                          + ", ".join(names), "depends-on")
    cycle = find_cycle({wf.name: list(wf.depends_on) for wf in ctx.stack.workflows})
    if cycle:
        first = names.index(cycle[0])
        ctx.error(("workflows", first, "depends_on"), f"depends_on forms a cycle: {' -> '.join(cycle)} (no "
                  "workflow of it could ever start)", "remove one of these dependencies", "depends-on-cycle")


def rule_test_launch(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        if wf.test_launch == "target" and wf.advanced.quick_mode:
            ctx.error(("workflows", i, "test_launch"), f"workflow `{wf.name}` tests the target itself "
                      "(test_launch: target) in quick mode: without incremental synchronization nothing undoes "
                      "what the test changed on the target before Cutover",
                      "use test_launch: clone (a clone of the target is tested), or turn advanced.quick_mode off",
                      "test-launch")


def rule_checks(ctx: RuleContext) -> None:
    for i, wf in enumerate(ctx.stack.workflows):
        seen: dict[str, int] = {}
        for j, check in enumerate(wf.validation.checks):
            if check.name in seen:
                ctx.error(("workflows", i, "validation", "checks", j, "name"), f"duplicate check name "
                          f"`{check.name}` (first at checks[{seen[check.name]}])", "give each check its own name",
                          "checks")
            seen.setdefault(check.name, j)
        commands = any(isinstance(c, CommandCheck) for c in wf.validation.checks)
        if commands and ctx.stack.cloud.provider == "huaweicloud" and wf.validation.ssh is None:
            ctx.error(("workflows", i, "validation"), f"workflow `{wf.name}` has command checks but no "
                      "`validation.ssh` login for the launched instance", "add validation: {ssh: {user: root, "
                      "key_file: ~/.ssh/id_ed25519}} (the checks log in at the instance's IP)", "checks")


FLOW_RULES = (rule_depends_on, rule_test_launch, rule_checks)
