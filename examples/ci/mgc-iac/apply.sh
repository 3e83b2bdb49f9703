#!/usr/bin/env bash
# Apply STACK after merge (with the plan its pull request reviewed), or on a schedule (only what the last apply
# already ran): returns by MAX_WAIT while replication goes on in the cloud. The job passes on 0 (done), 3 (waiting
# at gates: an approvals pull request moves it on) and 4 (in progress: the next scheduled run picks it up); it
# fails on 1 (an error, a failed step, a plan that is not the reviewed one, or a state that was tampered with).
#   ci/mgc-iac/apply.sh STACK MAX_WAIT REVIEWED_PLAN    after merge: the pull request's plan.json (its artifact)
#   ci/mgc-iac/apply.sh STACK MAX_WAIT --continue-only  on a schedule: never a spec no reviewed apply ran
set -euo pipefail
stack="$1"; max_wait="${2:-20m}"; reviewed="${3:?give the reviewed plan file, or --continue-only}"
if [ "$reviewed" = "--continue-only" ]; then what=(--continue-only); else what=(--reviewed-plan "$reviewed"); fi
set +e
mgc-iac apply "$stack" "${what[@]}" --auto-approve --max-wait "$max_wait" | tee mgc-iac-apply.log
rc=${PIPESTATUS[0]}
set -e
case "$rc" in
  0) note="apply complete" ;;
  3) note="waiting at manual gates: approve them in an approvals pull request (ci/mgc-iac/approve.sh)" ;;
  4) note="in progress: the cloud works on; the next scheduled apply picks it up" ;;
  *) echo "apply failed (exit $rc)" >&2; exit "$rc" ;;
esac
echo "mgc-iac: $note (exit $rc)"
[ -z "${GITHUB_STEP_SUMMARY:-}" ] || { echo "### mgc-iac apply: $note"; echo '```'; tail -n 40 mgc-iac-apply.log; echo '```'; } >> "$GITHUB_STEP_SUMMARY"
mgc-iac status "$stack"
