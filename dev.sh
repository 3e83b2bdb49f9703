#!/usr/bin/env bash
# One entry point for a newcomer and for CI: set up, run the demo, run the tests.
#   ./dev.sh demo    install what is missing, then run the demo migration on the embedded lab
#   ./dev.sh test    install what is missing, then run the whole test suite
#   ./dev.sh bench   install what is missing, then run the benchmarks in bench/
#   ./dev.sh setup   only install (system packages with apt-get when root, Python packages into .venv)
set -euo pipefail
cd "$(dirname "$0")"
VENV="${MGC_IAC_VENV:-.venv}"

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
  for cmd in bwrap rsync ssh sshd ssh-keygen; do command -v "$cmd" >/dev/null 2>&1 || need+=("$cmd"); done
  [ -x /usr/sbin/sshd ] || need+=("sshd")
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      echo "== installing system packages (missing: ${need[*]})"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq bubblewrap rsync openssh-client openssh-server >/dev/null
    else
      echo "warning: missing ${need[*]}; install bubblewrap rsync openssh-client openssh-server" >&2
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
