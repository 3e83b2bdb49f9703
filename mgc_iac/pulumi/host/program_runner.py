"""Run a Pulumi Python program against the engine: `python -u program_runner.py --monitor ADDR ... PROGRAM [ARGS]`.

Started by mgc_iac.pulumi.host.language with the interpreter of the project's virtualenv, by path, so only
the `pulumi` SDK has to be importable there. Config arrives in PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS
(JSON), as the SDK reads it. A failure is reported through the engine's log and ends with REPORTED, so the
host tells the engine to stop without a second message.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import runpy
import sys
import traceback

REPORTED = 32  # exit code: the error was already sent to the engine's log


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="program_runner", description=__doc__)
    ap.add_argument("--monitor", required=True, help="the engine's resource monitor address")
    ap.add_argument("--engine", required=True, help="the engine's address (logs)")
    ap.add_argument("--project", required=True)
    ap.add_argument("--stack", required=True)
    ap.add_argument("--organization", default="")
    ap.add_argument("--parallel", type=int, default=0)
    ap.add_argument("--dry-run", action="store_true", help="a preview: register, change nothing")
    ap.add_argument("--root-directory", default=None, help="where Pulumi.yaml is")
    ap.add_argument("--pwd", default=None, help="the working directory of the program")
    ap.add_argument("program", help="the program: a file or a directory with __main__.py")
    ap.add_argument("args", nargs="*")
    return ap.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    try:
        import pulumi
        import pulumi.runtime
    except ImportError as exc:
        print(f"the Pulumi SDK is not installed in {sys.prefix} ({exc}): run ./dev.sh setup", file=sys.stderr)
        return 1

    pulumi.runtime.set_all_config(pulumi.runtime.get_config_env(), pulumi.runtime.get_config_secret_keys_env())
    pulumi.runtime.configure(pulumi.runtime.Settings(
        project=args.project, stack=args.stack, monitor=args.monitor, engine=args.engine,
        parallel=args.parallel or None, dry_run=args.dry_run, organization=args.organization or None,
        root_directory=args.root_directory))
    if args.pwd:
        os.chdir(args.pwd)
    sys.argv = [args.program, *args.args]
    # Outputs left unresolved when a resource fails make asyncio log noise the user cannot act on.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        loop.run_until_complete(pulumi.runtime.run_in_stack(
            lambda: runpy.run_path(args.program, run_name="__main__")))
        return 0
    except pulumi.RunError as exc:  # a message meant for the user, without a traceback
        pulumi.log.error(str(exc))
    except Exception:  # a bug in the program: the traceback is what its author needs
        pulumi.log.error(f"the program failed:\n{traceback.format_exc()}")
    finally:
        loop.close()
        sys.stdout.flush()
        sys.stderr.flush()
    return REPORTED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
