"""The wheel is the product (issue 22, point 2): built from this tree, `pip install`ed into a fresh virtualenv,
then from an empty directory `mgc-iac demo` runs to the end, and `init`, `schema` and `pulumi init` work, with
nothing of the source tree in reach (no PYTHONPATH, another working directory)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """(the fresh venv, an environment without the source tree) with the built wheel installed."""
    root = tmp_path_factory.mktemp("wheel")
    source = _tracked_copy(root / "source")  # what a clone holds (symlinks too), without build/ or .venv
    dist = root / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(source), "-w", str(dist)],
                           capture_output=True, text=True, timeout=600, cwd=root)
    assert build.returncode == 0, build.stderr
    [wheel] = dist.glob("mgc_iac-*.whl")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MGC_IAC_STATE",
                                                             "MGC_IAC_LAB_DIR")}
    env.update(NO_COLOR="1", PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    # the user's command: the dependencies come from the index, pinned exactly by the wheel's metadata
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(wheel)],
                             capture_output=True, text=True, timeout=900, env=env, cwd=root)
    assert install.returncode == 0, install.stderr
    return venv, env


def _tracked_copy(target: Path) -> Path:
    files = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, check=True, timeout=60).stdout.decode().split("\0")
    for name in filter(None, files):
        src, dst = REPO / name, target / name
        if not src.exists() and not src.is_symlink():
            continue  # deleted in the work tree
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_symlink():
            dst.symlink_to(os.readlink(src))
        else:
            shutil.copy2(src, dst)
    return target


def _site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3.*/site-packages"))


def test_the_wheel_holds_one_package_and_the_license(installed):
    venv, _ = installed
    site = _site_packages(venv)
    record = next(site.glob("mgc_iac-*.dist-info"))
    tops = {line.split("/", 1)[0] for line in (record / "RECORD").read_text().splitlines() if line}
    assert tops - {".."} == {"mgc_iac", record.name}, tops   # no generic top-level `providers` (.. = bin/)
    assert not (site / "providers").exists()
    metadata = (record / "METADATA").read_text()
    assert "License-Expression: Apache-2.0" in metadata and "Requires-Python: <3.14,>=3.11" in metadata
    assert "Apache License" in (record / "licenses" / "LICENSE").read_text()
    for shipped in ("data/stacks/demo/stack.yaml", "data/stacks/demo/lab-seed.yaml", "data/schemas/plan.schema.json",
                    "data/Pulumi.yaml", "data/pulumi_program/__main__.py", "providers/migration_task.py",
                    "render/templates/plan.md.j2", "lab/sms_agent/startup.sh"):
        assert (site / "mgc_iac" / shipped).is_file(), shipped


def test_the_demo_runs_to_the_end_from_an_empty_directory(installed, tmp_path):
    venv, env = installed
    work = tmp_path / "empty"
    work.mkdir()
    as_ci = {**{k: v for k, v in env.items() if k != "MGC_IAC_NEW_STATE"}, "CI": "true"}  # a CI job runs it too
    demo = subprocess.run([str(venv / "bin" / "mgc-iac"), "demo"], capture_output=True, text=True, timeout=900,
                          env=as_ci, cwd=work)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "The demo is complete" in demo.stdout
    assert "Traceback" not in demo.stderr and "Warning" not in demo.stderr
    assert (work / ".mgc-iac" / "demo" / "report.html").is_file()


def test_init_schema_and_pulumi_init_work_from_the_wheel(installed, tmp_path):
    venv, env = installed
    mgc = str(venv / "bin" / "mgc-iac")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([mgc, *args], capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)

    for name in ("stack", "plan", "approvals"):
        out = run("schema", name)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout) == json.loads((REPO / "schemas" / f"{name}.schema.json").read_text())
    assert run("init", "prod").returncode == 0
    assert (tmp_path / "prod" / "lab-seed.yaml").is_file()
    valid = run("validate", "prod")
    assert valid.returncode == 0, valid.stdout + valid.stderr
    project = run("pulumi", "init", "infra", "--stack", "prod")
    assert project.returncode == 0, project.stderr
    assert "pulumi config set mgc-iac:stack ../prod" in project.stdout
    pulumi_yaml = (tmp_path / "infra" / "Pulumi.yaml").read_text()
    assert f"virtualenv: {venv}" in pulumi_yaml and "main: pulumi_program/" in pulumi_yaml
    assert "mgc_iac.pulumi.program" in (tmp_path / "infra" / "pulumi_program" / "__main__.py").read_text()

