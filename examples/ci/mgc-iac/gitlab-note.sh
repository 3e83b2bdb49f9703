#!/usr/bin/env bash
# Post BODY_FILE as THE plan note of the merge request: the note that starts with the same marker line is edited
# in place. Needs GITLAB_API_TOKEN (a project access token with the api scope; CI_JOB_TOKEN cannot write notes).
#   ci/mgc-iac/gitlab-note.sh BODY_FILE
set -euo pipefail
body="$1"
marker="$(head -n 1 "$body")"
api="${CI_API_V4_URL:?}/projects/${CI_PROJECT_ID:?}/merge_requests/${CI_MERGE_REQUEST_IID:?}/notes"
auth="PRIVATE-TOKEN: ${GITLAB_API_TOKEN:?}"
id="$(curl -fsS -H "$auth" "$api?per_page=100" | python3 -c "
import json, sys
print(next((str(n['id']) for n in json.load(sys.stdin) if n['body'].startswith(sys.argv[1])), ''))" "$marker")"
if [ -n "$id" ]; then
  curl -fsS -X PUT -H "$auth" --data-urlencode "body@$body" "$api/$id" > /dev/null; echo "updated note $id"
else
  curl -fsS -X POST -H "$auth" --data-urlencode "body@$body" "$api" > /dev/null; echo "posted the plan note"
fi
