"""The `mgc-iac` command line: click only. Each command parses its arguments, calls one operation of
mgc_iac.operations (over a Workspace) and renders the result; the only layer that prints.

Subcommands are imported only when invoked, so `mgc-iac --help` stays fast (no SDK, no Pulumi, no asyncssh).
"""

from __future__ import annotations

import importlib
import os

import click

# command name -> "module:attribute"; help text is kept here so `--help` needs no imports.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("mgc_iac.cli.demo_cmd:demo_cmd", "Run the demo migration on the embedded lab, start to finish."),
    "init": ("mgc_iac.cli.stack_cmds:init_cmd", "Scaffold a new stack directory that validates."),
    "validate": ("mgc_iac.cli.stack_cmds:validate_cmd", "Check a stack against every MgC rule (offline)."),
    "plan": ("mgc_iac.cli.plan_cmds:plan_cmd", "Diff a stack against recorded state and print the plan."),
    "show": ("mgc_iac.cli.plan_cmds:show_cmd", "Render a saved plan file."),
    "pr-comment": ("mgc_iac.cli.comment_cmd:pr_comment_cmd", "A saved plan as one PR comment (updated in place)."),
    "schema": ("mgc_iac.cli.stack_cmds:schema_cmd", "Print the JSON Schema of the stack, plan or approvals file."),
    "discover": ("mgc_iac.cli.discover_cmd:discover_cmd", "Compare what the source servers report with the inventory."),
    "lab": ("mgc_iac.cli.lab_cmds:lab_group", "Run the embedded Huawei-compatible lab cloud."),
    "apply": ("mgc_iac.cli.apply_cmds:apply_cmd", "Apply a stack or a saved plan; stops at manual gates (exit 3)."),
    "approve": ("mgc_iac.cli.approve_cmd:approve_cmd", "Sign and record approvals of gates that wait."),
    "status": ("mgc_iac.cli.apply_cmds:status_cmd", "Show each server's step, state, progress, gates and queue."),
    "retry": ("mgc_iac.cli.apply_cmds:retry_cmd", "Full Retry of a server: delete its task, restart at StartUpAgent."),
    "sync": ("mgc_iac.cli.apply_cmds:sync_cmd", "Run a server's incremental synchronization again."),
    "state": ("mgc_iac.cli.state_cmds:state_group", "Inspect, export, migrate or repair state."),
    "report": ("mgc_iac.cli.report_cmd:report_cmd", "Write an HTML report of a stack's migration (from state)."),
    "pulumi": ("mgc_iac.cli.pulumi_cmd:pulumi_group", "Write a Pulumi project that declares mgc-iac stacks."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target[0].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return None
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="mgc-iac")
@click.option("--debug", is_flag=True, envvar="MGC_IAC_DEBUG", help="Show tracebacks for internal errors.")
@click.option("--no-color", is_flag=True, help="No colour in any output (also: NO_COLOR set, or not a terminal).")
@click.option("--trust-stack-code", is_flag=True, envvar="MGC_IAC_TRUST_STACK_CODE",
              help="Run a stack.py without bubblewrap in CI (only where every change to the stack is trusted: "
                   "without bwrap it can read this job's files and reach the network).")
@click.pass_context
def cli(ctx: click.Context, debug: bool, no_color: bool, trust_stack_code: bool) -> None:
    """Server migrations to Huawei Cloud, declared as code.

    Write the migration (sources, workflows, target network, encryption, verification, tags) as a stack in
    YAML or Python, keep it in Git, review `mgc-iac plan`, then `mgc-iac apply` it. Apply stops at each
    manual checkpoint (ResizeDiskPartition, TestValidation with a test launch, BusinessValidation, Cutover)
    until it is approved.

    Exit codes: 0 success, 1 error, 2 changes present (plan --detailed-exitcode), 3 waiting for approval,
    4 in progress (apply --max-wait returned while the cloud works on).
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    if no_color or "NO_COLOR" in os.environ:  # https://no-color.org
        os.environ["NO_COLOR"] = "1"  # what the renderers (use_color), rich and the subcommands' contexts read
        ctx.color = False             # click.echo/secho of every subcommand strips its styles
    if trust_stack_code:
        os.environ["MGC_IAC_TRUST_STACK_CODE"] = "1"  # read where stack.py is run (stack/sandbox.py)


def main() -> None:
    """Console-script entry point: user errors exit 1 with a message, never a traceback."""
    from mgc_iac.cli._errors import run

    run(cli)
