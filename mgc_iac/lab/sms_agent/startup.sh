#!/bin/bash
# The lab SMS-Agent's start, in the shape of Huawei's SMS-Agent startup.sh: it asks for the access key, the
# secret key, the SMS domain and the project (one answer a line, here read from stdin; a security token may
# follow), then starts the agent process `linuxmain` in the background. The answers go to linuxmain through a
# pipe from bash builtins: never an argument (visible in ps) nor an environment variable.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
IFS= read -r AK || AK=""
IFS= read -r SK || SK=""
IFS= read -r DOMAIN || DOMAIN=""
IFS= read -r PROJECT || PROJECT=""
IFS= read -r TOKEN || TOKEN=""
if [ -z "$AK" ] || [ -z "$SK" ] || [ -z "$DOMAIN" ] || [ -z "$PROJECT" ]; then
  echo "startup.sh: the access key, secret key, SMS domain and project are required (one a line on stdin)" >&2
  exit 2
fi
pid=$(cat "$HERE/linuxmain.pid" 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  echo "SMS-Agent already running (pid $pid)"
  exit 0
fi
rm -f "$HERE/linuxmain.pid"
mkdir -p "$HERE/log"
printf '%s\n' "$AK" "$SK" "$DOMAIN" "$PROJECT" "$TOKEN" | setsid "$HERE/linuxmain" >>"$HERE/log/linuxmain.log" 2>&1 &
unset AK SK TOKEN
for _ in $(seq 1 150); do
  if [ -s "$HERE/linuxmain.pid" ]; then
    echo "SMS-Agent started (pid $(cat "$HERE/linuxmain.pid"))"
    exit 0
  fi
  sleep 0.1
done
echo "linuxmain did not start; its log:" >&2
tail -n 20 "$HERE/log/linuxmain.log" >&2
exit 1
