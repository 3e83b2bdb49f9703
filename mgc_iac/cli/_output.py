"""Printing helpers for the CLI: the only place (with the renderers' strings) that writes to the terminal."""

from __future__ import annotations

import sys

import click

from mgc_iac.diagnostics import Diagnostics, Severity
from mgc_iac.visible import visible


def use_color(stream_is_err: bool = False) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set."""
    import os

    stream = sys.stderr if stream_is_err else sys.stdout
    return stream.isatty() and "NO_COLOR" not in os.environ


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
