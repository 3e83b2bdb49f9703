#!/bin/bash
# The lab SMS-Agent process, named `linuxmain` as Huawei's is (`ps -ef | grep linuxmain` finds it). It runs
# the source's own /usr/bin/python3 on the code vendored under lib/ (nothing of the controller's venv).
HERE=$(cd "$(dirname "$0")" && pwd)
exec -a linuxmain /usr/bin/python3 -I "$HERE/linuxmain.py" "$@"
