#!/usr/bin/env bash
# One entry point for a newcomer and for CI: set up, run the demo, run the tests.
#   ./dev.sh demo    install what is missing, then run the demo migration on the embedded lab
#   ./dev.sh test    install what is missing, then run the whole test suite
#   ./dev.sh bench   install what is missing, then run the benchmarks in bench/
#   ./dev.sh setup   only install (system packages with apt-get when root, Python packages into .venv)
#   ./dev.sh smoke   on another Python (MGC_IAC_PYTHON=3.12): a fresh venv, the demo and a short test selection
#   ./dev.sh lock    re-resolve requirements.lock from pyproject.toml (uv, one lock for Python 3.11-3.13)
set -euo pipefail
cd "$(dirname "$0")"
VENV="${MGC_IAC_VENV:-.venv}"
DEV_COMMAND="${1:-}"
UV_VERSION=0.13.8          # only `./dev.sh lock` uses uv; setup installs the lock with pip
SUPPORTED="3.11 3.12 3.13"  # pyproject's requires-python

# The interpreter for a new venv: MGC_IAC_PYTHON (a version like 3.12, or a path), else the first supported
# python3.X on PATH or under pyenv; none: say which versions work and how to get one.
find_python() {
  local want="${MGC_IAC_PYTHON:-}" v cand
  local ok='import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))'
  if [ -n "$want" ] && [ "${want#*/}" != "$want" ]; then
    "$want" -c "$ok" 2>/dev/null && { echo "$want"; return 0; }
  else
    for v in ${want:-$SUPPORTED}; do
      for cand in "$(command -v "python$v" 2>/dev/null || true)" "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v"; do
        [ -n "$cand" ] && [ -x "$cand" ] && "$cand" -c "$ok" >/dev/null 2>&1 && { echo "$cand"; return 0; }
      done
    done
    cand=$(command -v python3 || true)
    [ -z "$want" ] && [ -n "$cand" ] && "$cand" -c "$ok" && { echo "$cand"; return 0; }
  fi
  echo "error: mgc-iac needs Python ${SUPPORTED// /, } (${want:+MGC_IAC_PYTHON=$want is not one; }python3 here is" \
       "$(python3 -V 2>&1 || echo missing)): apt-get install python3 on Debian 12/13 or Ubuntu 24.04, or set" \
       "MGC_IAC_PYTHON to a supported python's version or path" >&2
  return 1
}

# The pinned Python packages (requirements.lock, hashes checked), then mgc-iac itself, editable, without deps.
install_python() {
  local venv=$1
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
  "$venv/bin/pip" install -q --disable-pip-version-check --require-hashes -r requirements.lock
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps -e .
  if ! "$venv/bin/pip" check >/dev/null 2>&1; then   # a dependency added to pyproject.toml but not locked
    "$venv/bin/pip" check >&2 || true
    echo "error: requirements.lock does not satisfy pyproject.toml: run ./dev.sh lock and commit the lock" >&2
    return 1
  fi
  touch "$venv/.installed"
}

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
    local python
    python=$(find_python)
    echo "== creating $VENV ($("$python" -V))"
    "$python" -m venv "$VENV"
  fi
  if ! "$VENV/bin/python" -c "import mgc_iac, pytest" 2>/dev/null \
     || [ pyproject.toml -nt "$VENV/.installed" ] || [ requirements.lock -nt "$VENV/.installed" ]; then
    echo "== installing Python packages into $VENV (requirements.lock)"
    install_python "$VENV"
  fi
  setup_pulumi
  setup_go_tool actionlint github.com/rhysd/actionlint/cmd/actionlint
}

# A Go program pinned by tools/NAME/go.mod, built once into .tools/bin (stamp keyed by the module files' hash).
setup_go_tool() {
  case "$DEV_COMMAND" in demo|bench) return 0 ;; esac
  local name=$1 package=$2 bin=.tools/bin key
  key=$(cat "tools/$name/go.mod" "tools/$name/go.sum" "tools/$name/tools.go" | sha256sum | cut -d' ' -f1)
  if [ -x "$bin/$name" ] && [ "$(cat "$bin/.$name.stamp" 2>/dev/null)" = "$key" ]; then return 0; fi
  if ! command -v go >/dev/null 2>&1 && ! { [ -x /usr/local/go/bin/go ] && PATH="$PATH:/usr/local/go/bin"; }; then
    echo "warning: no Go to build $name (tools/$name/go.mod); the tests that run it fail in CI" >&2
    return 0
  fi
  echo "== building $name from Go modules into $bin (once)"
  mkdir -p "$bin"
  (cd "tools/$name" && go build -p 2 -trimpath -buildvcs=false -ldflags "-s -w" -o "../../$bin/$name" "$package")
  echo "$key" > "$bin/.$name.stamp"
}

# Another Python (MGC_IAC_PYTHON=3.12 ./dev.sh smoke): a fresh venv from the lock, the demo to the end from an
# empty directory, and a short test selection. CI runs it on the two versions the whole suite does not run on.
smoke() {
  local python venv work
  python=$(find_python)
  venv=".venv-smoke-$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  echo "== smoke run on $("$python" -V): $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  install_python "$venv"
  work=$(mktemp -d)
  (cd "$work" && "$OLDPWD/$venv/bin/mgc-iac" demo >"$work/demo.log" 2>&1) \
    || { tail -40 "$work/demo.log"; echo "smoke: the demo failed on $("$python" -V)" >&2; return 1; }
  tail -1 "$work/demo.log"
  rm -rf "$work"
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_public_api.py tests/plan tests/test_quiet.py \
    tests/test_render.py tests/test_schemas.py tests/approvals tests/lab/test_requirements.py
}

lock() {
  setup
  "$VENV/bin/pip" install -q --disable-pip-version-check "uv==$UV_VERSION"
  "$VENV/bin/uv" pip compile pyproject.toml --extra test --universal --python-version 3.11 --generate-hashes \
    --no-header --quiet -o requirements.lock
  echo "wrote requirements.lock"
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
  smoke) setup_postgresql; smoke ;;
  lock)  lock ;;
  bench) setup; shift
         for b in bench/*.py; do echo "== $b"; "$VENV/bin/python" "$b" "$@"; done ;;
  *) sed -n '2,9p' "$0"; exit 2 ;;
esac
