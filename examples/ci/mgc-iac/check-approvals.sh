#!/usr/bin/env bash
# On an approvals pull request: every entry of STACK/approvals.yaml is verified as apply will verify it: an SSH
# signature by a signer of the approval policy in force (recorded at the last apply: the pull request cannot add
# its own signers), for this state backend and cloud account, for the current plan. Fails when an entry does not
# verify or none counts. Needs only read access to the state.
#   ci/mgc-iac/check-approvals.sh STACK
set -euo pipefail
mgc-iac approve "$1" --check
