"""A stack.py runs in a child Python process: whatever it does (raise, sys.exit(), os._exit(), print to
stdout, loop for ever) cannot corrupt `--format json` output or end the CLI; the child hands back the spec as
JSON data (or located diagnostics) on its stdout, which the parent validates again (it trusts nothing the child
claims). The child is untrusted code: mgc_iac.stack.sandbox says what it may see and do.

Child: `python -m mgc_iac.stack.pystack STACK_PY`.
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from mgc_iac.diagnostics import Diagnostic, Diagnostics, Severity
from mgc_iac.errors import SpecError
from mgc_iac.stack.models import Stack
from mgc_iac.stack.sandbox import (
    TRUST_ENV,
    Limits,
    apply_limits,
    bwrap_works,
    child_env,
    in_ci,
    limits_spec,
    sandbox_argv,
    trusted,
)
from mgc_iac.stack.sourcemap import SourceMap
from mgc_iac.stack.validation_errors import validation_diagnostics

LIMITS_ENV = "MGC_IAC_STACK_LIMITS"
ANSWER_MAX_BYTES = 1 << 30  # the spec of a 100,000-server stack is some tens of MB
SAID_TAIL_BYTES = 64 * 1024  # what stack.py printed: its end is kept, for the error that quotes its last line


def run_stack_py(file: Path, shown: str) -> dict:
    """The canonical data of the Stack that `file` defines; raises SpecError (with file and line)."""
    package_dir = Path(__file__).resolve().parents[1]  # mgc_iac/, whose parent makes it importable
    limits = Limits.from_env()
    env = {**child_env(str(package_dir.parent)), LIMITS_ENV: limits_spec(limits)}
    command = [sys.executable, "-m", "mgc_iac.stack.pystack", str(file.resolve())]
    if bwrap_works():
        argv = sandbox_argv(command, stack_dir=file.parent.resolve(), package_dir=package_dir, env=env,
                            limits=limits)
        return _run(argv, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}, None, limits, shown)
    if in_ci() and not trusted():
        raise SpecError(_one("stack.py was not run: bubblewrap (bwrap) is not available here, and stack code from "
                             "the change under review must not run with this job's files and network", shown,
                             "install bubblewrap (apt-get install bubblewrap) on the runner; or, only where every "
                             f"change is trusted, run `mgc-iac --trust-stack-code ...` ({TRUST_ENV}=1)"))
    with tempfile.TemporaryDirectory(prefix="mgc-iac-stack-") as scratch:
        env.update({"HOME": scratch, "TMPDIR": scratch})
        return _run(command, env, file.parent, limits, shown)


def _run(argv: list[str], env: dict[str, str], cwd: Path | None, limits: Limits, shown: str) -> dict:
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                            cwd=cwd, start_new_session=True)
    # read as it comes, never all kept: stack.py may print gigabytes (only the end of it is kept, for the error)
    # and an answer past ANSWER_MAX_BYTES is refused
    answer = _Reader(proc.stdout, ANSWER_MAX_BYTES, lambda: _kill(proc))
    said = _Reader(proc.stderr, SAID_TAIL_BYTES)
    until = time.monotonic() + limits.wall_seconds
    try:
        proc.wait(timeout=limits.wall_seconds)
        answer.join(until)  # a process stack.py left behind may hold the pipes (without bwrap's pid namespace)
        said.join(until)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise SpecError(_one(f"stack.py ran for more than {limits.wall_seconds:.0f} s", shown,
                             "make stack.py only build the spec (no waiting, no network); "
                             "MGC_IAC_STACK_TIMEOUT raises the limit")) from None
    if answer.overflow:
        raise SpecError(_one(f"stack.py handed back more than {ANSWER_MAX_BYTES >> 20} MB", shown,
                             "a stack's spec is far smaller: check what stack.py builds"))
    try:
        data = json.loads(answer.data.decode("utf-8"))
        if not isinstance(data, dict) or not ("stack" in data or "diagnostics" in data):
            raise ValueError("not an answer")
    except (UnicodeDecodeError, ValueError):
        raise SpecError(_one(_ended(proc.returncode, limits, said.data), shown,
                             "do not call sys.exit() or os._exit() in stack.py; define `stack = Stack(...)` or a "
                             "function `stack()` that returns one")) from None
    if "diagnostics" in data:
        raise SpecError(_diagnostics(data["diagnostics"], shown))
    return data["stack"]


class _Reader:
    """A thread reading one of the child's pipes: up to `limit` bytes, then `on_overflow` (the rest is dropped);
    or, without `on_overflow`, only the last `limit` bytes."""

    def __init__(self, stream: IO[bytes] | None, limit: int, on_overflow: Callable[[], None] | None = None) -> None:
        # whole chunks in a deque, never one growing buffer: a buffer trimmed at its front left the allocator
        # holding hundreds of MB on some machines (CI: 498 MB for 1 GiB printed)
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self.overflow = False
        self._stream, self._limit, self._on_overflow = stream, limit, on_overflow
        self._thread = threading.Thread(target=self._read, daemon=True, name="stack.py output")
        self._thread.start()

    @property
    def data(self) -> bytes:
        """What was kept: all of it up to the limit, or (a tail reader) its last `limit` bytes."""
        return b"".join(self._chunks)[-self._limit:] if self._chunks else b""

    def _keep(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._size += len(chunk)

    def _read(self) -> None:
        if self._stream is None:
            return
        with self._stream:
            while chunk := self._stream.read1(1 << 16):  # type: ignore[attr-defined]
                if self._on_overflow is None:
                    self._keep(chunk)
                    while self._size - len(self._chunks[0]) >= self._limit:
                        self._size -= len(self._chunks.popleft())
                elif not self.overflow:
                    self._keep(chunk)
                    if self._size > self._limit:
                        self.overflow = True
                        self._chunks.clear()
                        self._on_overflow()

    def join(self, until: float) -> None:
        self._thread.join(max(0.0, until - time.monotonic()))
        if self._thread.is_alive():
            raise subprocess.TimeoutExpired("stack.py", 0)


def _diagnostics(items: object, shown: str) -> Diagnostics:
    """The child's located diagnostics, read as untrusted data: about stack.py, with at least one error."""
    found = Diagnostics()
    try:
        for d in items:  # type: ignore[attr-defined]
            line = d["line"]
            found.items.append(Diagnostic(Severity(d["severity"]), str(d["message"]), str(d.get("path") or ""),
                                          str(d.get("fix") or ""), shown,
                                          line if isinstance(line, int) and not isinstance(line, bool) else None,
                                          str(d.get("rule") or "load")))
    except (TypeError, KeyError, ValueError, AttributeError):
        return _one("stack.py's process handed back an answer mgc-iac cannot read", shown,
                    "define `stack = Stack(...)` in stack.py and write nothing to the process's other outputs")
    if not found.has_errors:
        found.error("stack.py did not return a stack", fix="define `stack = Stack(...)` (or a function `stack()` "
                    "that returns one)", file=shown, rule="load")
    return found


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """The child's whole session (it and whatever it started), then reap it; its pipes close with it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _ended(code: int, limits: Limits, err: bytes) -> str:
    signum = -code if code < 0 else code - 128 if code > 128 else 0  # bwrap reports a signal as 128+N
    if signum in (signal.SIGXCPU, signal.SIGKILL):
        why = (f"it used more than {limits.cpu_seconds} s of CPU time (MGC_IAC_STACK_CPU_SECONDS)"
               if signum == signal.SIGXCPU else "killed: the CPU-time or memory limit (MGC_IAC_STACK_*)")
    elif signum == signal.SIGXFSZ:
        why = f"it wrote a file larger than {limits.scratch_mb} MB (MGC_IAC_STACK_SCRATCH_MB)"
    else:
        why = f"exit code {code}"
    from mgc_iac.visible import visible_line

    last = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()][-1:]
    said = f"; its last line: {visible_line(last[0][:300])}" if last else ""
    return f"stack.py ended ({why}) before it returned a stack{said}"


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


def _child(file: Path) -> int:
    """Run the user's stack.py (its output goes to our stderr) and write the answer as JSON on our stdout."""
    limits = os.environ.pop(LIMITS_ENV, "")
    if limits:
        apply_limits(limits)
    answer_out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # print(), os.write(1, ...) and subprocesses of the stack land on stderr, never in the answer
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
    answer_out.write(json.dumps(answer))
    answer_out.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(_child(Path(sys.argv[1])))
