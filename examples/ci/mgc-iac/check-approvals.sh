#!/usr/bin/env bash
# On an approvals pull request: every entry of STACK/approvals.yaml must name the digest of the current plan
# (an approval of another plan would be discarded by apply), and the file must be valid.
#   ci/mgc-iac/check-approvals.sh STACK
set -euo pipefail
stack="$1"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
mgc-iac plan "$stack" --out "$tmp/plan.json" > /dev/null
python3 - "$stack" "$tmp/plan.json" <<'PY'
import json, pathlib, sys
import yaml

stack, plan_file = sys.argv[1:]
digest = json.loads(pathlib.Path(plan_file).read_text())["digest"]
path = pathlib.Path(stack) / "approvals.yaml"
entries = (yaml.safe_load(path.read_text()) or {}).get("approvals", []) if path.exists() else []
current = [e for e in entries if e.get("plan_digest") == digest]
if entries and not current:
    sys.exit(f"{path}: no approval names the current plan {digest}; approve it again (ci/mgc-iac/approve.sh)")
print(f"{path}: {len(current)} approval(s) of the current plan {digest}")
PY
