"""Every mistake a clear error: exit 1, `file:line: field: problem; fix`, no traceback, no "Internal error",
nothing written. Loader-level cases go through `check` (fast); the CLI cases run the real command."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from mgc_iac.errors import SpecError
from mgc_iac.operations._planning import check

GOOD = {"apiVersion": "mgc-iac/v1", "kind": "MigrationStack", "metadata": {"name": "t", "project": "p"}}


def failure(stack: Path) -> list:
    with pytest.raises(SpecError) as err:
        check(stack)
    return err.value.diagnostics.errors


def write(tmp_path: Path, text: str | bytes, name: str = "stack.yaml") -> Path:
    d = tmp_path / "s"
    d.mkdir(exist_ok=True)
    (d / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    return d


def mgc(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, "-m", "mgc_iac", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=120)


def assert_clean_failure(out: subprocess.CompletedProcess[str]) -> None:
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr + out.stdout and "Internal error" not in out.stderr


def test_duplicate_keys_are_refused_at_the_second_key(tmp_path):
    stack = write(tmp_path, "metadata: {name: a, project: p}\nsources: []\nmetadata: {name: b, project: p}\n")
    [err] = failure(stack)
    assert err.line == 3 and "duplicate key `metadata`" in err.message and err.file.endswith("stack.yaml")
    nested = write(tmp_path, "metadata:\n  name: a\n  project: p\n  name: b\n")
    [err] = failure(nested)
    assert err.line == 4 and "`name`" in err.message


def test_a_billion_laughs_fails_fast_small_and_without_echo(tmp_path):
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
    stack = write(tmp_path, "\n".join(lines) + "\nmetadata: *a9\n")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.monotonic()
    [err] = failure(stack)
    assert time.monotonic() - start < 5  # measured, not a benchmark: 10^9 values would take hours
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100_000  # KB: no expansion happened
    assert "aliases" in err.message and "lol" not in err.render()


def test_a_recursive_alias_is_refused(tmp_path):
    [err] = failure(write(tmp_path, "metadata: &m {name: a, project: p, self: *m}\n"))
    assert "alias" in err.message


@pytest.mark.parametrize("field, value", [("cpus", 10**30), ("memory_mb", 10**12)])
def test_integers_too_large_to_be_real(tmp_path, base, make_stack, field, value):
    base["sources"][0][field] = value
    [err] = failure(make_stack(base))
    assert err.path == f"sources[0].{field}" and "out of range" in err.message and "or less" in err.fix


def test_an_integer_python_cannot_read(tmp_path):
    [err] = failure(write(tmp_path, "metadata: {name: a, project: p}\nx: " + "9" * 5000 + "\n"))
    assert "too large" in err.message


def test_utf16_and_latin1_files(tmp_path):
    [err] = failure(write(tmp_path, "metadata: {name: a, project: p}\n".encode("utf-16")))
    assert "UTF-16" in err.message and "UTF-8" in err.fix and err.line == 1
    [err] = failure(write(tmp_path, "metadata:\n  name: a\n  project: caf\xe9\n".encode("latin-1")))
    assert err.line == 3 and "not UTF-8" in err.message


def test_tabs_are_named(tmp_path):
    [err] = failure(write(tmp_path, "metadata:\n\tname: a\n"))
    assert "tab" in err.message and err.line == 2 and "spaces" in err.fix


def test_several_documents_in_one_file(tmp_path):
    [err] = failure(write(tmp_path, "metadata: {name: a, project: p}\n---\nsources: []\n"))
    assert "several YAML documents" in err.message and err.line == 2


def test_sexagesimal_mac_and_float_version_say_quote_it(tmp_path, base, make_stack):
    text = yaml.safe_dump(base, sort_keys=False).replace("mac: fa:16:3e:00:00:01", "mac: 12:34:56:12:34:56")
    text = text.replace("os: linux\n", "os: linux\n  os_version: 7.10\n", 1)
    stack = make_stack(base)
    (stack / "stack.yaml").write_text(text)
    errs = failure(stack)
    by_path = {e.path: e for e in errs}
    assert "quote it" in by_path["sources[0].mac"].message
    version = by_path["sources[0].os_version"]
    assert "as the number 7.1" in version.message and "quote it" in version.fix
    assert version.line == text.splitlines().index("  os_version: 7.10") + 1  # the offending key's own line


def test_a_symlink_loop_in_the_stack_directory(tmp_path):
    stack = write(tmp_path, yaml.safe_dump(GOOD))
    (stack / "loop.yaml").symlink_to(stack / "loop.yaml")
    [err] = failure(stack)
    assert err.file.endswith("loop.yaml") and "symbolic links" in err.message and "symlink" in err.fix


def test_pydantic_messages_carry_the_value_and_the_fix(base, make_stack):
    base["sources"][0]["cpus"] = 0
    [err] = failure(make_stack(base))
    assert err.render().endswith("sources[0].cpus: 0 is out of range: input should be greater than 0; "
                                 "use a value above 0")


STACK_PY = '''from mgc_iac import Metadata, Stack
{body}
'''


@pytest.mark.parametrize("body, expect", [
    ("def stack():\n    raise RuntimeError('no inventory')\n", "RuntimeError: no inventory"),
    ("import sys\nsys.exit(0)\n", "sys.exit(0)"),
    ("import sys\nsys.exit(3)\n", "sys.exit(3)"),
    ("import os\nos._exit(0)\n", "before it returned a stack"),
    ("print('{\"not\": \"json\"}')\nstack = 3\n", "must define `stack = Stack(...)`"),
])
def test_a_misbehaving_stack_py_is_a_clear_error(tmp_path, body, expect):
    stack = write(tmp_path, STACK_PY.format(body=body), "stack.py")
    out = mgc("plan", str(stack), "--format", "json", cwd=tmp_path)
    assert_clean_failure(out)
    assert expect in out.stderr and "stack.py" in out.stderr
    # nothing the stack printed reaches the JSON stream: stdout is the one `error` document of --format json
    error = json.loads(out.stdout)
    assert error["kind"] == "error" and error["exit_code"] == 1 and expect in error["message"]
    assert '"not": "json"' not in out.stdout
    assert sorted(p.name for p in stack.iterdir()) == ["stack.py"]


def test_a_stack_py_that_prints_does_not_corrupt_json(tmp_path, demo_stack):
    body = ("print('hello from stack.py')\n"
            "stack = Stack(metadata=Metadata(name='t', project='p'))\n")
    stack = write(tmp_path, STACK_PY.format(body=body), "stack.py")
    out = mgc("plan", str(stack), "--format", "json", cwd=tmp_path)
    assert "hello" not in out.stdout
    assert out.returncode == 1 and "declares no sources" in out.stderr  # a rule error, reported plainly


@pytest.mark.parametrize("where", ["missing/plan.json", "adir", "STACK/plan.json"])
def test_plan_out_where_it_cannot_or_must_not_go(demo_stack, tmp_path, where):
    (tmp_path / "adir").mkdir()
    target = str(demo_stack) + where[5:] if where.startswith("STACK") else str(tmp_path / where)
    before = sorted(p.name for p in demo_stack.iterdir())
    out = mgc("plan", str(demo_stack), "--out", target, cwd=tmp_path)
    assert_clean_failure(out)
    assert "--out" in out.stderr and not Path(target).is_file()
    assert sorted(p.name for p in demo_stack.iterdir()) == before


def test_a_malformed_ssh_key_fails_that_source_only(demo_stack, tmp_path):
    from mgc_iac.operations._discover import discover_sources
    from mgc_iac.stack.loader import load_stack

    bad = tmp_path / "bad_key"
    bad.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n-----END OPENSSH PRIVATE KEY-----\n")
    spec = load_stack(demo_stack).canonical
    spec["sources"][0]["ssh"] = {"host": "127.0.0.1", "port": 1, "key_file": str(bad),
                                 "host_key_policy": "accept-new"}
    spec["sources"][1]["ssh"] = {"host": "127.0.0.1", "port": 1, "host_key_policy": "accept-new"}
    found = {d.name: d for d in discover_sources(spec)}
    assert "not a usable private key" in found["web-01"].error
    assert found["db-01"].error and "private key" not in found["db-01"].error  # went on with the other


def test_plan_refused_is_exit_1_without_traceback(demo_stack, tmp_path, isolated_state):
    from tests.plan.test_planner import record_applied

    record_applied(demo_stack, isolated_state, ("CreateTarget", "Cutover"))
    wf = demo_stack / "workflows.yaml"
    wf.write_text(wf.read_text().replace("name: shop-wave-1", "name: shop-wave-a"))
    out = mgc("plan", str(demo_stack), cwd=tmp_path)
    assert_clean_failure(out)
    assert "in production since its Cutover" in out.stderr
    assert json.loads(json.dumps(out.stderr))  # plain text, one message


def test_a_block_value_is_located_at_its_key_not_the_line_after(base, make_stack):
    base["workflows"][0]["encryption"] = {"enabled": True}  # neither key_id nor key_alias: rule error at the block
    stack = make_stack(base)
    lines = (stack / "stack.yaml").read_text().splitlines()
    [err] = [e for e in check(stack).diagnostics.errors if e.rule == "encryption"]
    assert err.path == "workflows[0].encryption" and lines[err.line - 1].strip() == "encryption:"
