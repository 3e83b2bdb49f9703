#!/usr/bin/env bash
# Start an approvals pull request, as an approver, on your own machine: sign with your SSH key every gate the
# stack waits at, for the digest of the plan in which they wait, into STACK/approvals.yaml. Commit it and open a
# pull request; the approvals job checks it (ci/mgc-iac/check-approvals.sh); after merge, the next apply goes on.
# Reading the waiting gates needs read access to the state (the plan role of ci/mgc-iac/state-roles.sql).
# Without it, sign what apply printed instead: mgc-iac approve STACK --gate G --key KEY --to-file --digest D
# --environment E --cloud C.
#   ci/mgc-iac/approve.sh STACK KEY          KEY: your private key, or the .pub of a key held by ssh-agent
set -euo pipefail
stack="$1"; key="$2"
mgc-iac approve "$stack" --all-waiting --key "$key" --to-file
git diff --stat -- "$stack/approvals.yaml"
