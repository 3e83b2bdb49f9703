#!/usr/bin/env bash
# One entry point for a newcomer and for CI: set up, run the demo, run the tests.
#   ./dev.sh demo    install what is missing, then run the demo migration on the embedded lab
#   ./dev.sh test    install what is missing, then run the whole test suite
#   ./dev.sh bench   install what is missing, then run the benchmarks in bench/
#   ./dev.sh setup   only install (system packages with apt-get when root, Python packages into .venv)
set -euo pipefail
cd "$(dirname "$0")"
VENV="${MGC_IAC_VENV:-.venv}"
DEV_COMMAND="${1:-}"

# PostgreSQL server binaries (initdb, pg_ctl) for the team-state tests: the tests start their own server
setup_postgresql() {
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing postgresql (server binaries for the state tests; no service is started)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # policy-rc.d 101: the package must not start a cluster service on this machine
    local rcd=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      rcd=/usr/sbin/policy-rc.d; printf '#!/bin/sh\nexit 101\n' > "$rcd"; chmod +x "$rcd"
    fi
    apt-get install -y -qq postgresql >/dev/null
    [ -z "$rcd" ] || rm -f "$rcd"
  else
    echo "warning: PostgreSQL is missing; install the postgresql package for the team-state tests" >&2
  fi
}

setup() {
  setup_postgresql
  local need=()
  # curl: a lab source downloads the SMS-Agent package with it; python3: the lab agent runs on the system Python
  for cmd in bwrap rsync ssh sshd ssh-keygen curl; do command -v "$cmd" >/dev/null 2>&1 || need+=("$cmd"); done
  [ -x /usr/sbin/sshd ] || need+=("sshd")
  for cmd in tmux chromium; do command -v "$cmd" >/dev/null 2>&1 || need+=("$cmd"); done  # live-view, report tests
  [ -x /usr/bin/python3 ] || need+=("python3")
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "== installing system packages (missing: ${need[*]})"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq bubblewrap rsync openssh-client openssh-server curl python3 tmux chromium >/dev/null
    else
      echo "warning: missing ${need[*]}; install bubblewrap rsync openssh-client openssh-server curl python3 tmux chromium" >&2
    fi
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
  fi
  if ! "$VENV/bin/python" -c "import mgc_iac, pytest" 2>/dev/null \
     || [ pyproject.toml -nt "$VENV/.installed" ]; then
    echo "== installing Python packages into $VENV"
    "$VENV/bin/pip" install -q --disable-pip-version-check --upgrade pip
    "$VENV/bin/pip" install -q --disable-pip-version-check -e '.[test]'
    touch "$VENV/.installed"
  fi
  setup_pulumi
}

# The Pulumi CLI, its Python language host and the dynamic-provider plugin, in .tools/bin (tests and
# README put it first on PATH). A `pulumi` on PATH at least as new as tools/pulumi/go.mod's pin is used;
# else the pinned CLI is built once from Go modules (stamp keyed by the tools module's hash: next time free).
# The two plugins are this repository's launchers (tools/pulumi/bin) unless a Pulumi install brings its own.
setup_pulumi() {
  case "$DEV_COMMAND" in demo|bench) return 0 ;; esac   # they do not run Pulumi: no build for them
  local bin=.tools/bin want key have found plugin
  mkdir -p "$bin"
  want=$(sed -n 's|^require github.com/pulumi/pulumi/pkg/v3 \(v[0-9.]*\)$|\1|p' tools/pulumi/go.mod)
  key=$(cat tools/pulumi/go.mod tools/pulumi/go.sum tools/pulumi/tools.go | sha256sum | cut -d' ' -f1)
  found=$(PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$PWD/$bin" | paste -sd:) command -v pulumi || true)
  have=$([ -n "$found" ] && "$found" version 2>/dev/null || true)
  if [ -x "$bin/pulumi" ] && [ ! -L "$bin/pulumi" ] && [ "$(cat "$bin/.pulumi.stamp" 2>/dev/null)" = "$key" ]; then
    :  # built from this very pin before
  elif [ -n "$found" ] && [ "${have%%.*}" = "${want%%.*}" ] \
       && [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -1)" = "$want" ]; then
    echo "== using $found ($have) for Pulumi"
    ln -sfn "$found" "$bin/pulumi"
  elif ! command -v go >/dev/null 2>&1 && ! { [ -x /usr/local/go/bin/go ] && PATH="$PATH:/usr/local/go/bin"; }; then
    echo "warning: no Pulumi CLI >= $want on PATH, and no Go to build it (the Pulumi tests will be skipped)." >&2
    echo "  Either install Go >= 1.26 (https://go.dev/doc/install) and run ./dev.sh setup again," >&2
    echo "  or install the Pulumi CLI >= $want (https://www.pulumi.com/docs/install/) and put it on PATH." >&2
    return 0
  else
    echo "== building the Pulumi CLI $want from Go modules into $bin (once; a few minutes)"
    rm -f "$bin/pulumi" "$bin/.pulumi.stamp"
    (cd tools/pulumi && go build -p 2 -trimpath -buildvcs=false \
        -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$want" \
        -o "../../$bin/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    echo "$key" > "$bin/.pulumi.stamp"
  fi
  for plugin in pulumi-language-python pulumi-resource-pulumi-python; do
    if [ -L "$bin/pulumi" ] && [ -x "$(dirname "$(readlink -f "$bin/pulumi")")/$plugin" ]; then
      rm -f "$bin/$plugin"   # the Pulumi install's own, found next to its `pulumi`
    else
      ln -sfn "../../tools/pulumi/bin/$plugin" "$bin/$plugin"
    fi
  done
}

case "${1:-}" in
  setup) setup ;;
  demo)  setup; shift; exec "$VENV/bin/mgc-iac" demo "$@" ;;
  test)  setup; shift; exec "$VENV/bin/python" -m pytest -q "$@" ;;
  lint)  setup; exec "$VENV/bin/ruff" check mgc_iac providers tests bench ;;
  bench) setup; shift
         for b in bench/*.py; do echo "== $b"; "$VENV/bin/python" "$b" "$@"; done ;;
  *) sed -n '2,7p' "$0"; exit 2 ;;
esac
