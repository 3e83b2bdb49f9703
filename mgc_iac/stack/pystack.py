"""A stack.py runs in a child Python process: whatever it does (raise, sys.exit(), os._exit(), print to
stdout, loop for ever) cannot corrupt `--format json` output or end the CLI; the child hands back the spec as
JSON data (or located diagnostics), which the parent validates again (it trusts nothing the child claims).

Child: `python -m mgc_iac.stack.pystack STACK_PY RESULT_JSON`.
"""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

from pydantic import ValidationError

from mgc_iac.diagnostics import Diagnostic, Diagnostics, Severity
from mgc_iac.errors import SpecError
from mgc_iac.stack.models import Stack
from mgc_iac.stack.sourcemap import SourceMap
from mgc_iac.stack.validation_errors import validation_diagnostics

TIMEOUT_SECONDS = 120.0


def run_stack_py(file: Path, shown: str) -> dict:
    """The canonical data of the Stack that `file` defines; raises SpecError (with file and line)."""
    package_root = str(Path(__file__).resolve().parents[2])  # where `mgc_iac` is importable from
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (package_root, os.environ.get("PYTHONPATH"))
                                                          if p)}
    with tempfile.TemporaryDirectory(prefix="mgc-iac-stack-") as tmp:
        result = Path(tmp) / "result.json"
        try:
            done = subprocess.run([sys.executable, "-m", "mgc_iac.stack.pystack", str(file), str(result)],
                                  stdin=subprocess.DEVNULL, capture_output=True, env=env, timeout=TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            raise SpecError(_one(f"stack.py ran for more than {TIMEOUT_SECONDS:.0f} s", shown,
                                 "make stack.py only build the spec (no waiting, no network)")) from None
        try:
            answer = json.loads(result.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise SpecError(_one(f"stack.py ended (exit code {done.returncode}) before it returned a stack",
                                 shown, "do not call sys.exit() or os._exit() in stack.py; define "
                                 "`stack = Stack(...)` or a function `stack()` that returns one")) from None
    if "diagnostics" in answer:
        raise SpecError(Diagnostics([Diagnostic(Severity(d["severity"]), str(d["message"]), str(d["path"] or ""),
                                                str(d["fix"] or ""), d["file"], d["line"], str(d["rule"] or ""))
                                     for d in answer["diagnostics"]]))
    return answer["stack"]


def _one(message: str, file: str, fix: str, line: int | None = None) -> Diagnostics:
    diags = Diagnostics()
    diags.error(message, fix=fix, file=file, line=line, rule="load")
    return diags


def run_python_stack(file: Path) -> Stack:
    """In the child process: run stack.py and return its Stack; SpecError names the user's line."""
    source_map = SourceMap(root=file.parent, python_file=file)
    shown = source_map.display(file)
    try:
        namespace = runpy.run_path(str(file), run_name="mgc_iac_stack")
        stack = namespace.get("stack")
        if callable(stack) and not isinstance(stack, Stack):
            stack = stack()
    except ValidationError as exc:
        diags = validation_diagnostics(exc, source_map)
        line = _user_line(exc, file)
        raise SpecError(Diagnostics([d.__class__(**{**d.__dict__, "line": line}) for d in diags])) from None
    except SpecError:
        raise
    except Exception as exc:  # the user's own code failed: show where, not our traceback
        raise SpecError(_one(f"{type(exc).__name__}: {exc}", shown, "fix the Python stack so that it runs",
                             _user_line(exc, file))) from None
    if not isinstance(stack, Stack):
        raise SpecError(_one("stack.py must define `stack = Stack(...)` (or a function `stack()` returning one)",
                             shown, "from mgc_iac import Stack; stack = Stack(metadata=..., ...)"))
    return stack


def _user_line(exc: BaseException, file: Path) -> int | None:
    """The deepest line of the traceback that is in the user's stack.py."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == file.resolve():
            line = frame.lineno
    return line


def _child(file: Path, result: Path) -> int:
    """Run the user's stack.py (its stdout goes to our stderr) and write the answer as JSON."""
    sys.stdout = sys.stderr
    try:
        stack = run_python_stack(file)
        answer: dict = {"stack": stack.model_dump(mode="json", by_alias=True)}
    except SpecError as exc:
        answer = {"diagnostics": [d.to_dict() for d in exc.diagnostics]}
    except SystemExit as exc:
        answer = {"diagnostics": [Diagnostic(
            Severity.ERROR, f"stack.py called sys.exit({exc.code!r})", "", "build the spec without exiting: "
            "raise an exception or fix the data instead", str(file), _user_line(exc, file), "load").to_dict()]}
    except ValidationError as exc:  # raised outside stack.py's own frames
        answer = {"diagnostics": [Diagnostic(Severity.ERROR, f"invalid stack: {exc.error_count()} error(s)", "",
                                             "fix the values stack.py builds", str(file), None,
                                             "load").to_dict()]}
    result.write_text(json.dumps(answer), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(Path(sys.argv[1]), Path(sys.argv[2])))
