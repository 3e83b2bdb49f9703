"""Turn exceptions into exit codes and messages: refusals plainly, bugs with a pointer to --debug."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from typing import NoReturn

import click

from mgc_iac.diagnostics import Diagnostic
from mgc_iac.errors import MgcIacError, SpecError


def run(command: click.Command) -> None:
    """Run the click command; map mgc-iac errors to exit codes and readable messages."""
    from mgc_iac.visible import install_visible_streams, visible

    debug = os.environ.get("MGC_IAC_DEBUG") == "1" or "--debug" in sys.argv
    install_visible_streams()  # the last net: no control character from data reaches the terminal raw
    try:
        command.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        _failed("aborted", 130)
    except click.ClickException as exc:
        exc.show()
        _failed(exc.format_message(), 1 if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        _failed("interrupted", 130)
    except SpecError as exc:
        from mgc_iac.cli._output import print_diagnostics

        print_diagnostics(exc.diagnostics)
        _failed(" ".join(line.strip() for line in str(exc).splitlines()), exc.exit_code, exc.diagnostics)
    except MgcIacError as exc:
        if debug:
            raise
        click.secho(f"Error: {visible(exc)}", fg="red", err=True)
        _failed(str(exc), exc.exit_code)
    except Exception:
        if debug:
            raise
        import traceback

        last = traceback.format_exc().strip().splitlines()[-1]
        click.secho("Internal error (a bug in mgc-iac, not in your stack):", fg="red", err=True)
        click.echo(visible(last), err=True)
        click.echo("Run again with --debug for the full traceback, and report it.", err=True)
        _failed(f"internal error (a bug in mgc-iac; run again with --debug and report it): {last}", 1)
    sys.exit(0)


def _failed(message: str, exit_code: int, diagnostics: Iterable[Diagnostic] = ()) -> NoReturn:
    """Exit with `exit_code`; with --format json, the `error` document on stdout first (the text is on stderr)."""
    from mgc_iac.cli._output import emit, json_output

    argv = sys.argv[1:]
    # a usage error found while click parses comes before the --format option is processed: read argv then
    asked = "--format=json" in argv or any(pair == ("--format", "json") for pair in zip(argv, argv[1:], strict=False))
    if json_output() or asked:
        from mgc_iac.render import error

        emit(error(message, diagnostics, exit_code=exit_code), lines=True)  # one line: apply's stream ends with it
    sys.exit(exit_code)
