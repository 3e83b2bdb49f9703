"""Printing helpers for the CLI: the only place (with the renderers' strings) that writes to the terminal.

`--format json` (format_option): stdout holds only JSON documents (mgc_iac.render.documents, described by
schemas/output/<kind>.schema.json); human lines go to stderr. The option is eager, so a failure found while the
command's other arguments are parsed is an `error` document too (cli._errors.run prints it)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import click

from mgc_iac.diagnostics import Diagnostics, Severity
from mgc_iac.visible import visible

_json_output = False   # set by the --format option of the command that runs (one command per process)


def use_color(stream_is_err: bool = False) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    import os

    stream = sys.stderr if stream_is_err else sys.stdout
    return stream.isatty() and "NO_COLOR" not in os.environ


def json_output() -> bool:
    """The running command was asked for `--format json`: stdout is for documents only."""
    return _json_output


def _remember(ctx: click.Context, param: click.Parameter, value: str) -> str:
    global _json_output
    _json_output = value == "json"
    return value


def format_option(holds: str, choices: tuple[str, ...] = ("text", "json"), lead: str = "") -> Callable[[Any], Any]:
    """The `--format` option; `holds` says what the JSON output is (shown by --help), `lead` the other formats."""
    return click.option("--format", "fmt", type=click.Choice(list(choices)), default=choices[0], show_default=True,
                        is_eager=True, callback=_remember,
                        help=f"{lead}json: {holds} On a failure: one `error` document "
                             "(schemas/output/error.schema.json) with the same exit code; human lines go to stderr. "
                             "`mgc-iac schema KIND` prints a schema.")


def emit(document: Mapping[str, Any], *, lines: bool = False) -> None:
    """One JSON document on stdout (one line in a JSON-lines stream)."""
    from mgc_iac.render import dumps

    click.echo(dumps(document, lines=lines))


def print_diagnostics(diags: Diagnostics) -> None:
    """Errors and warnings, one per line, on stderr, then a count."""
    color = use_color(stream_is_err=True)
    for diag in diags:
        label = "error" if diag.severity is Severity.ERROR else "warning"
        prefix = click.style(label, fg="red" if label == "error" else "yellow", bold=True) if color else label
        click.echo(f"{prefix}: {visible(diag.render())}", err=True)
    errors, warnings = len(diags.errors), len(diags.warnings)
    if errors or warnings:
        click.echo(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}", err=True)
