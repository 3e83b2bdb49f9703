"""The pipeline examples are copyable (issue 22, point 9): examples/ is a repository root, every script a job
runs exists at the path the job names (or is an mgc-iac subcommand), and the workflow files pass actionlint
(pinned in tools/actionlint, built into .tools/bin by ./dev.sh setup) and check-jsonschema (SchemaStore's
schemas, shipped inside the package: no network)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
GITHUB = sorted((EXAMPLES / ".github" / "workflows").glob("*.yml"))
GITLAB = EXAMPLES / ".gitlab-ci.yml"
ACTIONLINT = REPO / ".tools" / "bin" / "actionlint"
CHECK = Path(sys.executable).parent / "check-jsonschema"


def _commands() -> list[tuple[str, str]]:
    """(where, command line) of every shell line the jobs run."""
    out = []
    for path in GITHUB:
        for name, job in (yaml.safe_load(path.read_text()).get("jobs") or {}).items():
            for step in job.get("steps") or []:
                for line in str(step.get("run") or "").splitlines():
                    out.append((f"{path.name}/{name}", line))
    for name, job in yaml.safe_load(GITLAB.read_text()).items():
        if isinstance(job, dict):
            for key in ("before_script", "script", "after_script"):
                for line in job.get(key) or []:
                    out.extend((f".gitlab-ci.yml/{name}", ln) for ln in str(line).splitlines())
    return out


def _programs(line: str) -> list[str]:
    """The programs a shell line runs: the first word of each simple command (after `VAR=x` prefixes)."""
    words = []
    for part in re.split(r"\|\||&&|[|;]", line):
        try:
            tokens = shlex.split(part, comments=True)
        except ValueError:
            continue
        tokens = [t for t in tokens if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", t)]
        if tokens:
            words.append(tokens[0])
    return words


def test_every_script_a_job_runs_is_where_the_job_says():
    assert len(GITHUB) >= 4 and GITLAB.is_file()
    commands = _commands()
    scripts = {(where, p) for where, line in commands for p in _programs(line) if "/" in p and not p.startswith("$")}
    assert scripts, "the examples run no script of their own?"
    missing = [(where, p) for where, p in sorted(scripts) if not (EXAMPLES / p).is_file()]
    assert not missing, f"scripts named by a job but not at that path under examples/: {missing}"
    not_executable = [p for _, p in scripts if not os.access(EXAMPLES / p, os.X_OK)]
    assert not not_executable, not_executable
    from mgc_iac.cli import COMMANDS

    for where, line in commands:
        for i, program in enumerate(_programs(line)):
            if program == "mgc-iac":
                sub = shlex.split(re.split(r"\|\||&&|[|;]", line)[i], comments=True)
                sub = [t for t in sub if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", t)][1]
                assert sub in COMMANDS, f"{where}: `mgc-iac {sub}` is not a command"


def test_the_scripts_call_only_scripts_that_exist():
    for script in sorted((EXAMPLES / "ci" / "mgc-iac").glob("*.sh")):
        for word in re.findall(r"(?<![\w/$.-])(ci/mgc-iac/[\w.-]+)", script.read_text()):
            assert (EXAMPLES / word).is_file(), f"{script.name} calls {word}, which is not there"


def test_actionlint_passes_on_the_github_workflows(tmp_path):
    if not ACTIONLINT.is_file():  # pragma: no cover - ./dev.sh setup builds it wherever Go is installed
        why = f"no {ACTIONLINT}: ./dev.sh setup builds it from tools/actionlint (needs Go)"
        if os.environ.get("CI"):
            pytest.fail(why, pytrace=False)
        pytest.skip(why)
    done = subprocess.run([str(ACTIONLINT), "-no-color", *map(str, GITHUB)], capture_output=True, text=True,
                          cwd=EXAMPLES, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    broken = tmp_path / ".github" / "workflows" / "broken.yml"  # it does find a mistake: an unknown context
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ secret.TOKEN }}\n")
    bad = subprocess.run([str(ACTIONLINT), "-no-color", str(broken)], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "secret" in bad.stdout


def test_check_jsonschema_passes_on_both_pipelines():
    ok = subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-workflows", *map(str, GITHUB)],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    ok = subprocess.run([str(CHECK), "--builtin-schema", "vendor.gitlab-ci", str(GITLAB)], capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
