"""SSH side of mgc-iac: connectors (asyncssh, local), typed settings, a connection bound, facts, prechecks."""

from mgc_iac.ssh._connector import CommandResult, Connector, OutputCallback
from mgc_iac.ssh._errors import known_hosts_name
from mgc_iac.ssh._local import LocalConnector
from mgc_iac.ssh._pool import ConnectionPool
from mgc_iac.ssh._probe import port_reachable
from mgc_iac.ssh._settings import HostKeyPolicy, JumpHost, SSHSettings
from mgc_iac.ssh._ssh import SFTP_BLOCK, SSHConnector
from mgc_iac.ssh.facts import HostFacts, facts_script, gather_facts, parse_facts
from mgc_iac.ssh.prechecks import Difference, PrecheckResult, Requirements, compare_inventory, run_prechecks

__all__ = ["SFTP_BLOCK", "CommandResult", "ConnectionPool", "Connector", "Difference", "HostFacts",
           "HostKeyPolicy", "JumpHost", "LocalConnector", "OutputCallback", "PrecheckResult", "Requirements",
           "SSHConnector", "SSHSettings", "compare_inventory", "facts_script", "gather_facts",
           "known_hosts_name", "parse_facts", "port_reachable", "run_prechecks"]
