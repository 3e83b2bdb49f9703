"""The pipeline examples (examples/: .github/workflows, .gitlab-ci.yml, ci/mgc-iac) are valid and run.

The workflow files are validated with check-jsonschema against SchemaStore's schemas (shipped inside the
package, no network). Then the jobs' own `run:`/`script:` commands are run, in the order the pipelines would
run them, in a real git repository (branch, plan, merge, apply, approvals pull request, merge, apply, scheduled
apply) against the lab and a real PostgreSQL state. Not run: the steps that need the platform itself — checkout
and setup-python (`uses:` steps: the test made the repository and has mgc-iac installed), `pip install`, and
posting the comment through the GitHub/GitLab API (the comment body they would post is checked instead).
Approvals are the current unsigned `approvals.yaml` entries (signed approvals are being built separately).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .helpers import Demo

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLES = REPO / "examples"
GITHUB = sorted((EXAMPLES / ".github" / "workflows").glob("*.yml"))
GITLAB = EXAMPLES / ".gitlab-ci.yml"
CHECK = Path(sys.executable).parent / "check-jsonschema"


def test_the_workflow_files_validate_against_schemastore(tmp_path):
    assert len(GITHUB) == 4
    ok = subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-workflows", *map(str, GITHUB)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    ok = subprocess.run([str(CHECK), "--builtin-schema", "vendor.gitlab-ci", str(GITLAB)], capture_output=True,
                        text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "broken.yml"  # the check does reject a wrong file (a job without runs-on or steps)
    broken.write_text("name: x\non: push\njobs:\n  plan:\n    step: []\n")
    bad = subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-workflows", str(broken)],
                         capture_output=True, text=True)
    assert bad.returncode == 1


def test_the_pipelines_wire_plan_apply_environments_and_schedule():
    flows = {p.stem: yaml.safe_load(p.read_text()) for p in GITHUB}
    on = {name: flow[True] for name, flow in flows.items()}  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in on["mgc-iac-plan"] and on["mgc-iac-apply"]["push"]["branches"] == ["main"]
    assert on["mgc-iac-scheduled"]["schedule"][0]["cron"] == "*/15 * * * *"
    assert flows["mgc-iac-plan"]["permissions"]["pull-requests"] == "write"
    for name in ("mgc-iac-apply", "mgc-iac-scheduled"):
        assert flows[name]["jobs"]["apply"]["environment"] == "production"
        assert flows[name]["concurrency"] == {"group": "mgc-iac-apply", "cancel-in-progress": False}
    lab = yaml.safe_load(GITLAB.read_text())
    assert lab["apply"]["environment"]["name"] == "production" and lab["apply"]["resource_group"] == "mgc-iac-apply"
    assert lab["scheduled-apply"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    for flow in flows.values():  # the state URL is a plain variable; the password only ever a secret
        assert flow["env"]["MGC_IAC_STATE"] == "${{ vars.MGC_IAC_STATE_URL }}"
        assert flow["env"]["PGPASSWORD"] == "${{ secrets.MGC_IAC_PGPASSWORD }}"
    assert lab["variables"] == {"STACK": "stacks/prod", "MGC_IAC_STATE": "$MGC_IAC_STATE_URL",
                                "PGPASSWORD": "$MGC_IAC_PGPASSWORD"}


class Pipelines:
    """Runs the jobs' commands of one CI system in the repository, with the variables a project would set."""

    def __init__(self, kind: str, repo: Path, env: dict[str, str], settings: dict[str, str]) -> None:
        self.kind, self.repo, self.env, self.settings = kind, repo, env, settings

    def _expr(self, text: str) -> str:
        def sub(match: re.Match[str]) -> str:
            key = match.group(1).strip()
            if key not in self.settings:
                raise AssertionError(f"the test does not know the expression ${{{{ {key} }}}}")
            return self.settings[key]

        return re.sub(r"\$\{\{(.*?)\}\}", sub, text)

    def job(self, workflow: str, job: str) -> tuple[dict[str, str], list[str]]:
        if self.kind == "github":
            flow = yaml.safe_load((self.repo / ".github" / "workflows" / f"{workflow}.yml").read_text())
            spec = flow["jobs"][job]
            env = {k: self._expr(str(v)) for k, v in {**flow.get("env", {}), **spec.get("env", {})}.items()}
            scripts = []
            for step in spec["steps"]:
                if "uses" in step or step.get("id") in ("install", "comment"):
                    continue  # the platform's own actions, pip install, the API call (see the module doc)
                env.update({k: self._expr(str(v)) for k, v in step.get("env", {}).items()})
                scripts.append(self._expr(step["run"]))
            return env, scripts
        pipeline = yaml.safe_load((self.repo / ".gitlab-ci.yml").read_text())
        variables = {**self.settings, **{k: re.sub(r"\$(\w+)", lambda m: self.settings.get(m.group(1), ""), str(v))
                                         for k, v in pipeline["variables"].items()}}
        return variables, [line for line in pipeline[job]["script"] if "gitlab-note.sh" not in line]

    def run(self, workflow: str, job: str) -> str:
        env, scripts = self.job(workflow, job)
        out = []
        for script in scripts:
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                                  cwd=self.repo, env={**self.env, **env}, capture_output=True, text=True, timeout=300)
            out.append(done.stdout + done.stderr)
            assert done.returncode == 0, f"{workflow}/{job}: {script}\n{out[-1]}"
        return "\n".join(out)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_the_examples_run_in_order_in_a_git_repository(kind, demo: Demo, pg_server, pg_url, tmp_path):
    repo = tmp_path / "repo"
    (repo / "ci").mkdir(parents=True)
    shutil.copytree(EXAMPLES / "ci" / "mgc-iac", repo / "ci" / "mgc-iac")  # as README says: copy examples/
    if kind == "github":
        shutil.copytree(EXAMPLES / ".github", repo / ".github")
    else:
        shutil.copy(GITLAB, repo / ".gitlab-ci.yml")
    (repo / "README.md").write_text("migrations\n")
    _git(tmp_path, "init", "-q", "-b", "main", str(repo))
    _git(repo, "config", "user.email", "ci@example.com")
    _git(repo, "config", "user.name", "CI")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "pipelines")
    env = {**demo.env, "PGPASSWORD": ""}  # what the job's own env: block gives is what counts
    env.pop("MGC_IAC_STATE")
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    settings = {"vars.MGC_IAC_STATE_URL": pg_url, "secrets.MGC_IAC_PGPASSWORD": pg_server.password,
                "secrets.HUAWEICLOUD_SDK_AK": "", "secrets.HUAWEICLOUD_SDK_SK": "",
                "vars.HUAWEICLOUD_SDK_PROJECT_ID": "", "github.token": "", "github.event.pull_request.number": "1",
                "MGC_IAC_STATE_URL": pg_url, "MGC_IAC_PGPASSWORD": pg_server.password}
    ci = Pipelines(kind, repo, env, settings)
    plan_job = ("mgc-iac-plan", "plan") if kind == "github" else ("", "plan")
    apply_job = ("mgc-iac-apply", "apply") if kind == "github" else ("", "apply")
    approvals_job = ("mgc-iac-approvals", "check") if kind == "github" else ("", "approvals")
    scheduled_job = ("mgc-iac-scheduled", "apply") if kind == "github" else ("", "scheduled-apply")

    # a pull request adds the stack: plan, and the comment body the job posts
    _git(repo, "checkout", "-qb", "migrate-shop")
    shutil.copytree(demo.stack, repo / "stacks" / "prod")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "migrate the shop")
    out = ci.run(*plan_job)
    assert "changes present" in out
    comment = (repo / "mgc-iac-out" / "comment.md").read_text()
    assert comment.startswith("<!-- mgc-iac plan: demo -->") and len(comment) <= 65_536
    assert "| To create |" in comment and "<details>" in comment and "Approval required" in comment
    shutil.rmtree(repo / "mgc-iac-out")

    # merge, apply in the production environment: stops at the first gates
    _git(repo, "checkout", "-q", "main")
    _git(repo, "merge", "-q", "--no-ff", "migrate-shop", "-m", "merge migrate-shop")
    out = ci.run(*apply_job)
    assert "waiting at manual gates" in out and "BusinessValidation" in out

    for gate in ("BusinessValidation", "Cutover"):
        # an approvals pull request (made by the approver's command), checked, merged, applied
        branch = f"approve-{gate.lower()}"
        _git(repo, "checkout", "-qb", branch)
        approved = subprocess.run(["ci/mgc-iac/approve.sh", "stacks/prod", "alice@example.com"], cwd=repo,
                                  env={**env, "MGC_IAC_STATE": pg_url, "PGPASSWORD": pg_server.password},
                                  capture_output=True, text=True)
        assert approved.returncode == 0 and f"/{gate}" in approved.stdout, approved.stdout + approved.stderr
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", f"approve {gate}")
        assert "approval(s) of the current plan" in ci.run(*approvals_job)
        _git(repo, "checkout", "-q", "main")
        _git(repo, "merge", "-q", "--no-ff", branch, "-m", f"merge {branch}")
        out = ci.run(*(apply_job if gate == "BusinessValidation" else scheduled_job))
        if gate == "BusinessValidation":
            assert "waiting at manual gates" in out and "Cutover" in out, out
        else:
            assert "apply complete" in out, out
    assert "approve-cutover" in _git(repo, "log", "--oneline", "-3")
    # the scheduled drift check: the cloud holds what was recorded, so it passes (it exits 2 on drift)
    ci.run(*(("mgc-iac-scheduled", "drift") if kind == "github" else ("", "drift-check")))
