#!/bin/bash
# The lab SMS-Agent's startup.sh, asking what Huawei's asks, in Huawei's order (SMS user guide, "Installing the
# SMS-Agent on Linux", via huaweicloud/huaweicloud-skills; /work/shared/reference/huawei-behaviour.md):
#   first start: `y` after the fstab pre-check warning; `y` to the data-collection statement; the AK; the SK;
#                the SMS domain (a bare host, e.g. sms.cn-north-4.myhuaweicloud.com); the enterprise project
#                (a number from the list printed, 0 = default)
#   a restart with a saved configuration: the pre-check, then whether to reuse it (`y`)
# A wrong answer is asked again, forever. There is no security-token prompt. The wording is the lab's own
# (Huawei does not publish it). Prompts are shown by `read -p`, which bash prints only on a terminal. At the
# end of input it stops (status 3; what Huawei's does then is not documented). Then linuxmain starts in a
# session of its own (setsid, output to agent/Logs): it outlives the SSH session that ran this.
# The answers reach linuxmain on a pipe from bash builtins: never an argument (ps) nor an environment variable.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
AGENT="$HERE/agent"
SAVED="$AGENT/config/registration.cfg"   # the lab agent's saved configuration (its SK sealed, mode 0600)
PIDFILE="$AGENT/linuxmain.pid"
mkdir -p "$AGENT/Logs"

ask() {  # ask VAR PROMPT [secret]
  local _reply
  if [ "${3:-}" = secret ]; then
    IFS= read -r -s -p "$2" _reply || { echo; echo "startup.sh: no more input: the SMS-Agent is not started" >&2; exit 3; }
    echo
  else
    IFS= read -r -p "$2" _reply || { echo; echo "startup.sh: no more input: the SMS-Agent is not started" >&2; exit 3; }
  fi
  printf -v "$1" '%s' "$_reply"
}

yes_no() {  # 0 for y, 1 for n; anything else is asked again
  local answer
  while true; do
    ask answer "$1"
    case "$answer" in
      y|Y|yes|Yes|YES) return 0 ;;
      n|N|no|No|NO) return 1 ;;
      *) echo "Invalid input '$answer': enter y or n." ;;
    esac
  done
}

start() {  # start MODE [answers...]: linuxmain in its own session; the answers on its stdin
  local pid
  rm -f "$PIDFILE"
  printf '%s\n' "$@" | setsid "$AGENT/linuxmain" >>"$AGENT/Logs/linuxmain.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do
    if [ -s "$PIDFILE" ]; then
      echo "The SMS-Agent is started (linuxmain, pid $(cat "$PIDFILE"))."
      exit 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "linuxmain did not start; its log:" >&2
  tail -n 20 "$AGENT/Logs/linuxmain.log" >&2
  exit 1
}

pid=$(cat "$PIDFILE" 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  echo "The SMS-Agent is already running (pid $pid)."
  exit 0
fi

by_name=$(awk '$1 ~ "^/dev/" && $1 !~ "^/dev/mapper/" {print $1 " on " $2}' /etc/fstab 2>/dev/null | paste -sd, -)
echo "Pre-check warning: /etc/fstab mounts ${by_name:-its file systems} by device name. After the migration the"
echo "target may name its disks differently and not mount them; mounting by UUID avoids this."
yes_no "The fstab pre-check found a risk. Continue? (y/n): " || { echo "Stopped at the pre-check."; exit 1; }

if [ -s "$SAVED" ]; then
  echo "A saved configuration was found: $(grep -E '^(domain|enterprise_project) = ' "$SAVED" | paste -sd, -)."
  if yes_no "Use the saved configuration? (y/n): "; then
    start saved
  fi
fi

cat <<'STATEMENT'
Data collection statement: to migrate this server, the SMS-Agent collects and sends to SMS the host name,
IP and MAC addresses, OS, CPUs, memory, disks and file systems of this server. It collects no file contents.
STATEMENT
yes_no "Do you agree to the data collection statement? (y/n): " || { echo "Not agreed: the SMS-Agent is not started."; exit 1; }

while true; do
  ask AK "Please enter your AK: "
  [[ "$AK" =~ ^[A-Za-z0-9]{16,64}$ ]] && break
  echo "Invalid AK: an access key is 16-64 letters and digits."
done
while true; do
  ask SK "Please enter your SK: " secret
  [[ -n "$SK" && ! "$SK" =~ [[:space:]] ]] && break
  echo "Invalid SK: a secret key has no spaces and is not empty."
done
while true; do
  ask DOMAIN "Please enter the SMS domain name: "
  [[ "$DOMAIN" =~ ^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$ ]] && break
  echo "Invalid SMS domain name '$DOMAIN': enter the bare host name, e.g. sms.cn-north-4.myhuaweicloud.com (no https://, no port, no path)."
done

mapfile -t PROJECTS < <("$AGENT/linuxmain" --list-enterprise-projects "$DOMAIN" 2>>"$AGENT/Logs/linuxmain.log")
[ ${#PROJECTS[@]} -gt 0 ] || PROJECTS=("0 default")
echo "Enterprise projects:"
for i in "${!PROJECTS[@]}"; do
  echo "  $i. ${PROJECTS[$i]#* }"
done
while true; do
  ask CHOICE "Select the enterprise project (enter its number): "
  [[ "$CHOICE" =~ ^[0-9]+$ ]] && [ "$CHOICE" -lt ${#PROJECTS[@]} ] && break
  echo "Invalid input '$CHOICE': enter a number from 0 to $(( ${#PROJECTS[@]} - 1 ))."
done
EP="${PROJECTS[$CHOICE]}"

start new "$AK" "$SK" "$DOMAIN" "${EP%% *}" "${EP#* }"
