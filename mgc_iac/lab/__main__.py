"""`python -m mgc_iac.lab serve --dir D --port N [--seed F]`: the lab in the foreground (used by `lab up`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mgc_iac.lab.process import serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m mgc_iac.lab")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="serve the lab on loopback until SIGTERM")
    run.add_argument("--dir", type=Path, required=True)
    run.add_argument("--port", type=int, default=0)
    run.add_argument("--seed", type=Path)
    args = parser.parse_args()
    serve(args.dir, args.port, args.seed)


if __name__ == "__main__":
    main()
