"""`python -m mgc_iac` is the `mgc-iac` command (the console script calls `run` too)."""

import sys


def run() -> None:
    """Import the CLI and run it; a Ctrl-C while the CLI is still being imported (a loaded machine takes a
    second) exits 130 like one later, not with a traceback."""
    try:
        from mgc_iac.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted.\n")
        raise SystemExit(130) from None
    main()


if __name__ == "__main__":
    run()
