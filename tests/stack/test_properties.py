"""Property-based: generated YAML documents and stack trees (mutations of a valid stack, broken encodings,
tabs, aliases, duplicate keys, extra documents, odd files) fed to `validate` and `plan` through the CLI entry
point (in-process): the exit code is 0 or 1, never a traceback or "Internal error", and nothing is written
into the stack directory. max_examples keeps it well under a minute."""

from __future__ import annotations

import contextlib
import copy
import io
import sys
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import BASE_STACK

LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20), st.floats(allow_nan=True),
    st.text(max_size=12), st.sampled_from(["", "fa:16:3e:00:00:09", "12:34", "/data", "D:\\x", "evs/default",
                                           "cn-north-4", "urn:smn:cn-north-4:p:t", "on", "yes", "~"]),
    st.lists(st.text(max_size=5), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_stacks(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(BASE_STACK)
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(_paths(data)[1:]))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["set", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(LEAVES)
        else:
            parent[path[-1]] = draw(LEAVES)
    return data


TWEAKS = st.sampled_from(["none", "tab", "dup", "doc", "latin1", "utf16", "alias", "bomb", "truncate", "flow"])


def _text(data: dict[str, Any], tweak: str, cut: int) -> bytes:
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    lines = text.splitlines(keepends=True)
    if tweak == "tab" and len(lines) > 2:
        lines[2] = "\t" + lines[2].lstrip(" ")
    elif tweak == "dup" and lines:
        lines.append(lines[0])
    elif tweak == "doc":
        lines.insert(len(lines) // 2, "---\n")
    elif tweak == "alias":
        lines = ["x: &x {a: 1}\n", "y: *x\n", *lines]
    elif tweak == "bomb":
        refs = ["a"] + [f"a{i}" for i in range(1, 9)]
        lines = ["a: &a [1, 1, 1, 1, 1, 1, 1, 1]\n"] + [
            f"{refs[i]}: &{refs[i]} [{', '.join(['*' + refs[i - 1]] * 8)}]\n" for i in range(1, 9)] + lines
    elif tweak == "truncate":
        lines = lines[: max(1, cut % max(len(lines), 1))]
    elif tweak == "flow":
        return (yaml.safe_dump(data, default_flow_style=True)[: max(1, cut)] + "\n").encode()
    body = "".join(lines)
    if tweak == "latin1":
        return body.encode("utf-8") + "caf\xe9: 1\n".encode("latin-1")
    if tweak == "utf16":
        return body.encode("utf-16")
    return body.encode("utf-8")


def _cli(*args: str) -> tuple[int, str, str]:
    from mgc_iac.cli import cli
    from mgc_iac.cli._errors import run

    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["mgc-iac", *args]
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            run(cli)
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue()


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=mutated_stacks(), tweak=TWEAKS, cut=st.integers(0, 400), split=st.booleans(),
       extra=st.sampled_from(["none", "empty.yaml", "list.yaml", "dir.yaml", "approvals.yaml", "loop.yaml"]))
def test_validate_and_plan_never_crash_and_never_write(tmp_path_factory, data, tweak, cut, split, extra):
    stack = tmp_path_factory.mktemp("stack")
    if split and tweak == "none":
        sources = {"sources": data.pop("sources", []), "migration_plans": data.pop("migration_plans", [])}
        (stack / "sources.yaml").write_bytes(_text(sources, "none", cut))
    (stack / "stack.yaml").write_bytes(_text(data, tweak, cut))
    if extra == "empty.yaml":
        (stack / extra).write_text("")
    elif extra == "list.yaml":
        (stack / extra).write_text("- 1\n- 2\n")
    elif extra == "dir.yaml":
        (stack / extra).mkdir()
    elif extra == "approvals.yaml":
        (stack / extra).write_text("approvals: [{gate: x}]\n")
    elif extra == "loop.yaml":
        (stack / extra).symlink_to(stack / extra)
    before = _tree(stack)
    for args in (("validate", str(stack)), ("plan", str(stack), "--format", "json")):
        code, out, err = _cli(*args)
        assert code in (0, 1), (args, code, err)
        assert "Traceback" not in err + out and "Internal error" not in err, err
        if args[0] == "plan" and code == 0:
            import json

            json.loads(out)  # stdout is exactly the plan
    assert _tree(stack) == before
