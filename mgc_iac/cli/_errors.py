"""Turn exceptions into exit codes and messages: refusals plainly, bugs with a pointer to --debug."""

from __future__ import annotations

import os
import sys

import click

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
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1 if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except SpecError as exc:
        from mgc_iac.cli._output import print_diagnostics

        print_diagnostics(exc.diagnostics)
        sys.exit(exc.exit_code)
    except MgcIacError as exc:
        if debug:
            raise
        click.secho(f"Error: {visible(exc)}", fg="red", err=True)
        sys.exit(exc.exit_code)
    except Exception:
        if debug:
            raise
        import traceback

        click.secho("Internal error (a bug in mgc-iac, not in your stack):", fg="red", err=True)
        click.echo(visible(traceback.format_exc().strip().splitlines()[-1]), err=True)
        click.echo("Run again with --debug for the full traceback, and report it.", err=True)
        sys.exit(1)
    sys.exit(0)
