"""Quiet: no dependency prints a warning on any command (issue 22, point 4). cryptography is pinned below the
release that deprecates DSA, which asyncssh 2.24.1 still names at import (10 lines above every live view)."""

from __future__ import annotations

import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import mgc_iac

REPO = Path(__file__).resolve().parents[1]

_IMPORT_ALL = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
"""


def _modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(mgc_iac.__path__, "mgc_iac."):
        if info.name.rsplit(".", 1)[-1] == "__main__" or ".data." in info.name:
            continue  # entry points run a program when imported
        names.append(info.name)
    return names


def test_every_module_imports_without_a_warning():
    """`-W error`: a warning of any dependency at import (asyncssh on cryptography, pulumi, the SDK) fails."""
    modules = _modules()
    assert len(modules) > 100 and "mgc_iac.providers.migration_task" in modules
    out = subprocess.run([sys.executable, "-W", "error", "-c", _IMPORT_ALL, *modules], capture_output=True,
                         text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stderr == ""


def test_commands_print_no_warning(demo_stack, tmp_path):
    env = {**os.environ, "MGC_IAC_STATE": str(tmp_path / "state.db"), "NO_COLOR": "1"}
    for args in (["--help"], ["validate", str(demo_stack)], ["plan", str(demo_stack)], ["schema", "plan"],
                 ["init", str(tmp_path / "new")]):
        out = subprocess.run([sys.executable, "-m", "mgc_iac", *args], capture_output=True, text=True, env=env,
                             cwd=tmp_path, timeout=120)
        assert out.returncode == 0, (args, out.stderr)
        assert "Warning" not in out.stderr and "warnings.warn" not in out.stderr, (args, out.stderr)
