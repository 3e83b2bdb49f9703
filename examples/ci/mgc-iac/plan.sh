#!/usr/bin/env bash
# Plan STACK for a pull/merge request: the plan file, its markdown, and the comment body (one comment, under
# GitHub's 65,536-character limit, per-workflow detail collapsed, a marker line to update it in place).
#   ci/mgc-iac/plan.sh STACK OUT_DIR
set -euo pipefail
stack="$1"; out="${2:-mgc-iac-out}"
mkdir -p "$out"
set +e
mgc-iac plan "$stack" --out "$out/plan.json" --format markdown --detailed-exitcode > "$out/plan.md"
rc=$?
set -e
case "$rc" in
  0) echo "no changes" ;;
  2) echo "changes present (see the comment)" ;;
  *) cat "$out/plan.md"; exit "$rc" ;;
esac
mgc-iac pr-comment "$out/plan.json" --full-plan "the job's artifacts (plan.md)" > "$out/comment.md"
[ -z "${GITHUB_STEP_SUMMARY:-}" ] || cat "$out/comment.md" >> "$GITHUB_STEP_SUMMARY"
echo "comment body: $out/comment.md ($(wc -c < "$out/comment.md") characters)"
