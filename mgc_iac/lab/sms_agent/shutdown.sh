#!/bin/bash
# Stop the lab SMS-Agent (linuxmain): SIGTERM, then SIGKILL after 5 s. Its saved configuration stays (a restart
# asks whether to reuse it); SourceClear removes the whole SMS-Agent/ after this.
HERE=$(cd "$(dirname "$0")" && pwd)
PIDFILE="$HERE/agent/linuxmain.pid"
pid=$(cat "$PIDFILE" 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  kill "$pid"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  echo "SMS-Agent stopped (pid $pid)"
fi
rm -f "$PIDFILE"
