"""Host facts: the facts script, its parsers (pyinfra-style facts) and the typed HostFacts.

The script (facts.sh.j2, POSIX sh, read-only, fed on stdin so nothing is written on the host) prints::

    {"format": 1, "facts": {"hostname": "<uname -n>", "identity": "<id -u; id -un>",
     "os_release": "<uname -s; /etc/os-release>", "cpu_count": "<nproc>", "loadavg": "</proc/loadavg>",
     "meminfo": "</proc/meminfo>", "interfaces": "<if NAME MAC lines; ip -o addr>", "disks": "<df -Pk>",
     "free_space": "<df -Pk / and /tmp>", "rsync": "<command -v rsync>", "sudo": "root|nopasswd|password|absent",
     "package_manager": "apt-get|dnf|yum|zypper"}}

Each value is that fact's raw output; `Fact.process` parses it on the controller (golden-tested), and
`parse_facts` builds HostFacts (see _model.py): hostname, identity{uid,user}, os{kernel,family,id,version_id,
pretty_name}, cpu_count, load1, memory_total_kb, memory_available_kb, interfaces[{name,mac,ips}],
disks[{filesystem,mount,size_kb,used_kb,available_kb}], free_kb{"/","/tmp"}, rsync_path, sudo, package_manager.
Linux/POSIX only: Windows sources need a PowerShell twin (not written).
"""

from mgc_iac.ssh.facts._facts import ALL_FACTS, Fact
from mgc_iac.ssh.facts._model import Disk, HostFacts, Identity, Interface, OsInfo, facts_summary
from mgc_iac.ssh.facts._script import facts_script, gather_facts, parse_facts

__all__ = ["ALL_FACTS", "Disk", "Fact", "HostFacts", "Identity", "Interface", "OsInfo", "facts_script", "facts_summary",
           "gather_facts", "parse_facts"]
