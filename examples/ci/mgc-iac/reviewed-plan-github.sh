#!/usr/bin/env bash
# After a merge to main: fetch the plan the merged pull request's plan job made (its `mgc-iac-plan` artifact, the
# plan its comment showed) into OUT_DIR. Needs GH_TOKEN (the job's github.token with actions: read) and gh.
#   ci/mgc-iac/reviewed-plan-github.sh OUT_DIR
set -euo pipefail
out="$1"; repo="${GITHUB_REPOSITORY:?}"; sha="${GITHUB_SHA:?}"
pr="$(gh api "repos/$repo/commits/$sha/pulls" --jq '.[0].number // empty')"
[ -n "$pr" ] || { echo "no pull request merged $sha: changes reach main through a reviewed pull request" >&2; exit 1; }
head="$(gh api "repos/$repo/pulls/$pr" --jq .head.sha)"
run="$(gh run list --repo "$repo" --workflow mgc-iac-plan.yml --commit "$head" --status success --limit 1 \
       --json databaseId --jq '.[0].databaseId // empty')"
[ -n "$run" ] || { echo "pull request #$pr has no successful plan run for its last commit $head" >&2; exit 1; }
gh run download "$run" --repo "$repo" --name mgc-iac-plan --dir "$out"
echo "reviewed plan of pull request #$pr (run $run, commit $head): $out/plan.json"
