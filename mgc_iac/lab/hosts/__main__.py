"""`python -m mgc_iac.lab.hosts serve SEED WORKDIR`: the background runner behind LabHostsProcess."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from mgc_iac.lab.hosts._process import serve


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] != "serve":
        sys.stderr.write("usage: python -m mgc_iac.lab.hosts serve SEED.yaml WORKDIR\n")
        return 2
    asyncio.run(serve(Path(argv[1]), Path(argv[2])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
