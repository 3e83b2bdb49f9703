"""Lab hosts: asyncssh servers on 127.0.0.1, each with its own root, facts and host key (bubblewrap).

In-process (one asyncio loop)::

    lab = LabHosts(load_hosts_spec("stacks/demo/lab-seed.yaml"), workdir)
    async with lab:                               # prepares roots (kept between runs), listens on free ports
        lab["web-01"].port                        # its loopback port
        lab.client_key_path, lab.known_hosts_path # one client key for every host; every host key pinned
        async with SSHConnector(lab.settings("web-01")) as c: ...

As a background process (for the CLI): ``LabHostsProcess(seed, workdir).start()`` runs
``python -m mgc_iac.lab.hosts serve SEED WORKDIR`` and returns its ``hosts.json``:
``{name: {host, port, user, role, key_file, known_hosts, host_key, quota_enforced}}``; ``stop()`` ends it.

Each command and the sftp subsystem run under bwrap with the host's root as /, /usr shared read-only,
/proc/meminfo, /proc/cpuinfo, /proc/loadavg and /sys/class/net replaced by the host's declared facts,
its own hostname, and OMP_NUM_THREADS for nproc. `rsync: false` hides rsync (a /usr/bin without it).
`disk_size_mb` mounts a size-limited tmpfs as the root (needs root; `quota_enforced` says whether it
happened, otherwise the size is only declared). `ip` is declared inventory only: every host answers on
127.0.0.1 and its facts report no addresses for its interface; each source root gets /.mgc-lab-network.json
(its declared ip, and each target's loopback port) for the lab SMS-Agent. Fault injection:
``LabHost.drop_connections()`` (a network cut) and ``LabHost.power_off()`` (kill everything running inside the
host); into a background process: ``inject_fault(workdir, name, "drop" | "power_off")`` (SIGUSR1 and a request
file).
"""

from mgc_iac.lab.hosts._hosts import LabHost, LabHosts
from mgc_iac.lab.hosts._process import inject_fault, request_hosts
from mgc_iac.lab.hosts._spec import FilesSpec, LabHostSpec, load_hosts_spec
from mgc_iac.lab.supervisor import LabHostsProcess

__all__ = ["FilesSpec", "LabHost", "LabHostSpec", "LabHosts", "LabHostsProcess", "inject_fault", "load_hosts_spec",
           "request_hosts"]
