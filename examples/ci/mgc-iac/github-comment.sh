#!/usr/bin/env bash
# Post BODY_FILE as THE plan comment of pull request $PR: the comment that starts with the same marker line is
# edited in place (one comment per stack, never a new one per push). Needs GH_TOKEN (the job's github.token).
#   ci/mgc-iac/github-comment.sh BODY_FILE
set -euo pipefail
body="$1"
marker="$(head -n 1 "$body")"
repo="${GITHUB_REPOSITORY:?}"; pr="${PR:?}"
id="$(gh api --paginate "repos/$repo/issues/$pr/comments" --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | head -n 1)"
if [ -n "$id" ]; then
  gh api --method PATCH "repos/$repo/issues/comments/$id" -F "body=@$body" > /dev/null; echo "updated comment $id"
else
  gh api --method POST "repos/$repo/issues/$pr/comments" -F "body=@$body" > /dev/null; echo "posted the plan comment"
fi
