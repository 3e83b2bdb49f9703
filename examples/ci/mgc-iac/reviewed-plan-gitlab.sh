#!/usr/bin/env bash
# After a merge to the default branch: fetch the plan the merged merge request's plan job made (its artifact,
# the plan its note showed) into OUT_DIR. Needs GITLAB_API_TOKEN (read_api scope).
#   ci/mgc-iac/reviewed-plan-gitlab.sh OUT_DIR
set -euo pipefail
out="$1"; api="${CI_API_V4_URL:?}/projects/${CI_PROJECT_ID:?}"; auth="PRIVATE-TOKEN: ${GITLAB_API_TOKEN:?}"
iid="$(curl -fsS -H "$auth" "$api/repository/commits/${CI_COMMIT_SHA:?}/merge_requests" \
       | python3 -c 'import json, sys; found = json.load(sys.stdin); print(found[0]["iid"] if found else "")')"
[ -n "$iid" ] || { echo "no merge request merged $CI_COMMIT_SHA: changes reach the default branch through review" >&2; exit 1; }
mkdir -p "$out"
curl -fsS -L -H "$auth" -o "$out/artifacts.zip" \
  "$api/jobs/artifacts/refs%2Fmerge-requests%2F$iid%2Fhead/download?job=plan"
python3 -m zipfile -e "$out/artifacts.zip" "$out"
cp "$out/mgc-iac-out/plan.json" "$out/plan.json"
echo "reviewed plan of merge request !$iid: $out/plan.json"
