#!/usr/bin/env bash
# Start an approvals pull request: add to STACK/approvals.yaml an approval by APPROVER of every gate the stack
# waits at, for the digest of the plan in which they wait. Review and merge it like code; the next apply goes on.
#   ci/mgc-iac/approve.sh STACK APPROVER
set -euo pipefail
stack="$1"; approver="$2"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
mgc-iac plan "$stack" --out "$tmp/plan.json" > /dev/null
mgc-iac status "$stack" --format json > "$tmp/status.json"
python3 - "$stack" "$approver" "$tmp/plan.json" "$tmp/status.json" <<'PY'
import json, pathlib, sys
import yaml

stack, approver, plan_file, status_file = sys.argv[1:]
digest = json.loads(pathlib.Path(plan_file).read_text())["digest"]
status = json.loads(pathlib.Path(status_file).read_text())
gates = [s["gate"] for wf in status["workflows"] for s in wf["servers"] if s.get("gate")]
if not gates:
    sys.exit(f"{stack}: no gate is waiting; nothing to approve")
path = pathlib.Path(stack) / "approvals.yaml"
doc = yaml.safe_load(path.read_text()) if path.exists() else None
doc = doc or {"approvals": []}
doc["approvals"].append({"gates": gates, "by": approver, "plan_digest": digest})
path.write_text(yaml.safe_dump(doc, sort_keys=False))
print(f"{path}: {approver} approves {len(gates)} gate(s) of plan {digest}:")
for gate in gates:
    print(f"  {gate}")
PY
