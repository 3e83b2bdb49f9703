"""Turn asyncssh and socket failures into SSHConnectError messages that say how to fix them."""

from __future__ import annotations

import asyncio

import asyncssh

from mgc_iac.errors import SSHConnectError
from mgc_iac.ssh._settings import SSHSettings


def known_hosts_name(host: str, port: int) -> str:
    """The name OpenSSH writes in known_hosts: bare host on 22, [host]:port otherwise."""
    return host if port == 22 else f"[{host}]:{port}"


def _auth_methods(s: SSHSettings) -> str:
    tried = []
    if s.key_file:
        tried.append(f"key {s.key_file}")
    if s.password_env:
        tried.append(f"password from ${s.password_env}")
    if s.use_agent:
        tried.append("ssh-agent keys")
    return ", ".join(tried)


def connect_error(s: SSHSettings, exc: BaseException, *, via: str = "") -> SSHConnectError:
    """Build the user-facing error for a failed connect; `via` names a jump host when one was used."""
    where = f"{s.user}@{s.host} port {s.port}" + (f" via {via}" if via else "")
    name = known_hosts_name(s.host, s.port)
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        msg = (f"host key of {where} is not trusted ({exc.reason}). If the host was rebuilt and its new key is "
               f"expected, remove the old one with: ssh-keygen -f {s.known_hosts_path()} -R '{name}' "
               f"then connect again with host_key_policy: accept-new (or add the key with "
               f"ssh-keyscan -p {s.port} {s.host} >> {s.known_hosts_path()})")
    elif isinstance(exc, asyncssh.PermissionDenied):
        msg = (f"authentication failed for user {s.user!r} on {where} (tried {_auth_methods(s)}); check that the "
               f"public key is in ~{s.user}/.ssh/authorized_keys on the host, or use the right user/key")
    elif isinstance(exc, asyncio.TimeoutError | TimeoutError):
        msg = (f"timed out after {s.connect_timeout:g}s connecting to {where}; check the host and port, that sshd "
               f"runs there, and that firewalls/security groups allow TCP {s.port} from here")
    elif isinstance(exc, ConnectionRefusedError):
        msg = f"connection refused by {where}: no SSH server listens on port {s.port}; check the port and sshd"
    elif isinstance(exc, OSError):
        msg = f"cannot reach {where}: {exc.strerror or exc}; check the address, routing and DNS"
    elif isinstance(exc, asyncssh.KeyImportError):
        msg = f"cannot read private key {s.key_file} for {where}: {exc}; check the path and its passphrase"
    elif isinstance(exc, asyncssh.Error):
        msg = f"SSH to {where} failed: {exc.reason}"
    else:
        msg = f"SSH to {where} failed: {type(exc).__name__}"
    return SSHConnectError(msg)
