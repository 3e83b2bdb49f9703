#!/usr/bin/env bash
# Install mgc-iac for a pipeline job, pinned: from a path (the project vendored into this repository, e.g. a git
# submodule pinned to a commit) or from a git URL at a full 40-hex commit. Never a package name on an index: a
# name we do not own can be taken by anyone, and this job holds the state and cloud credentials.
# Also installs bubblewrap when missing (a stack.py runs under it; YAML stacks run no code).
#   ci/mgc-iac/install.sh [SOURCE]     SOURCE: ./vendor/mgc-iac (default) or git+https://HOST/OWNER/mgc-iac@<commit>
set -euo pipefail
source="${1:-./vendor/mgc-iac}"
case "$source" in
  /*|./*|../*)
    [ -f "$source/pyproject.toml" ] || { echo "install.sh: $source holds no pyproject.toml (vendor mgc-iac there, e.g. git submodule add URL $source)" >&2; exit 1; } ;;
  git+https://*@*)
    commit="${source##*@}"
    [[ "$commit" =~ ^[0-9a-f]{40}$ ]] || { echo "install.sh: $source: pin a full 40-hex commit after @ (not a branch or a tag, which can move)" >&2; exit 1; } ;;
  *)
    echo "install.sh: refusing '$source': install from a path or git+https://...@<40-hex commit>, never an index name" >&2
    exit 1 ;;
esac
if ! command -v bwrap > /dev/null 2>&1 && command -v apt-get > /dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq bubblewrap > /dev/null || true
  else sudo apt-get install -y -qq bubblewrap > /dev/null || true; fi
fi
python3 -m pip install --quiet "$source"
