"""A stack.py runs in a child Python process: whatever it does (raise, sys.exit(), os._exit(), print to
stdout, loop for ever) cannot corrupt `--format json` output or end the CLI; the child hands back the spec as
JSON data (or located diagnostics), which the parent validates again (it trusts nothing the child claims).

Child: `python -m mgc_iac.stack.pystack STACK_PY RESULT_JSON`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from pydantic import ValidationError

from mgc_iac.diagnostics import Diagnostic, Diagnostics, Severity
from mgc_iac.errors import SpecError

TIMEOUT_SECONDS = 120.0


def run_stack_py(file: Path, shown: str) -> dict:
    """The canonical data of the Stack that `file` defines; raises SpecError (with file and line)."""
    import mgc_iac

    package_root = str(Path(mgc_iac.__file__).resolve().parent.parent)
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


def _child(file: Path, result: Path) -> int:
    """Run the user's stack.py (its stdout goes to our stderr) and write the answer as JSON."""
    from mgc_iac.stack.loader import run_python_stack

    sys.stdout = sys.stderr
    try:
        stack = run_python_stack(file)
        answer: dict = {"stack": stack.model_dump(mode="json", by_alias=True)}
    except SpecError as exc:
        answer = {"diagnostics": [d.to_dict() for d in exc.diagnostics]}
    except SystemExit as exc:
        from mgc_iac.stack.loader import user_line

        answer = {"diagnostics": [Diagnostic(
            Severity.ERROR, f"stack.py called sys.exit({exc.code!r})", "", "build the spec without exiting: "
            "raise an exception or fix the data instead", str(file), user_line(exc, file), "load").to_dict()]}
    except ValidationError as exc:  # raised outside stack.py's own frames
        answer = {"diagnostics": [Diagnostic(Severity.ERROR, f"invalid stack: {exc.error_count()} error(s)", "",
                                             "fix the values stack.py builds", str(file), None,
                                             "load").to_dict()]}
    result.write_text(json.dumps(answer), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(Path(sys.argv[1]), Path(sys.argv[2])))
