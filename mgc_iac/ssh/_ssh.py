"""The asyncssh connector: one connection per connector, commands as channels, files over SFTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncssh

from mgc_iac.errors import SSHCommandError, SSHConnectError, SSHError
from mgc_iac.ssh._connector import CommandResult, OutputCallback
from mgc_iac.ssh._errors import connect_error, known_hosts_name
from mgc_iac.ssh._settings import SSHSettings

SFTP_BLOCK = 261120  # OpenSSH's sftp-server drops the connection at 262144


class _FirstContact(asyncssh.SSHClient):
    """accept-new: asyncssh checks the host key against known_hosts itself (hashed names, wildcards, @revoked,
    @cert-authority); it asks here only about a key the file does not trust. That key is accepted only when the
    file says nothing at all about the host: a host with another key, a CA or a revoked key stays refused."""

    def __init__(self, known: asyncssh.SSHKnownHosts) -> None:
        self._known = known
        self.accepted: asyncssh.SSHKey | None = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        keys, cas, revoked, *_ = self._known.match(host, addr, port)
        if keys or cas or revoked:
            return False
        self.accepted = key
        return True


def _known_hosts(path: Path) -> asyncssh.SSHKnownHosts:
    try:
        return asyncssh.read_known_hosts(str(path)) if path.exists() else asyncssh.import_known_hosts("")
    except (OSError, ValueError, asyncssh.Error) as exc:
        raise SSHConnectError(f"cannot read known_hosts file {path}: {exc}; fix or remove the bad line") from exc


class SSHConnector:
    """Connector over asyncssh. `name` is how logs and errors call the host."""

    def __init__(self, settings: SSHSettings, *, name: str | None = None) -> None:
        self.settings = settings
        self.name = name or settings.host
        self._conn: asyncssh.SSHClientConnection | None = None
        self._jump: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None

    def __repr__(self) -> str:
        return f"SSHConnector({self.name!r}, {self.settings.target})"

    async def __aenter__(self) -> SSHConnector:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def connection(self) -> asyncssh.SSHClientConnection:
        if self._conn is None:
            raise SSHError(f"{self.name}: not connected")
        return self._conn

    def _options(self, s: SSHSettings, known_hosts: object) -> dict[str, object]:
        keys = [str(s.key_path())] if s.key_file else []
        opts: dict[str, object] = {
            "username": s.user, "port": s.port, "known_hosts": known_hosts, "client_keys": keys or None,
            "agent_path": () if s.use_agent else None, "connect_timeout": s.connect_timeout,
            "login_timeout": s.connect_timeout, "encryption_algs": list(s.encryption_algs),
            "password": s.password(), "preferred_auth": "publickey,password",
            "keepalive_interval": 15, "keepalive_count_max": 4,
        }
        if not keys and not s.use_agent:
            opts["client_keys"] = ()
        return opts

    async def _open(self, s: SSHSettings, tunnel: asyncssh.SSHClientConnection | None) -> asyncssh.SSHClientConnection:
        kh = s.known_hosts_path()
        name = known_hosts_name(s.host, s.port)
        if not kh.exists() and s.host_key_policy == "strict":
            raise SSHConnectError(
                f"no known_hosts file {kh} to check the host key of {s.host} port {s.port}; add the key with "
                f"ssh-keyscan -p {s.port} {s.host} >> {kh} (after checking its fingerprint) or use "
                "host_key_policy: accept-new")
        known = _known_hosts(kh)
        first = _FirstContact(known) if s.host_key_policy == "accept-new" else None
        extra: dict[str, object] = {"client_factory": lambda: first} if first is not None else {}
        try:
            conn = await asyncssh.connect(s.host, tunnel=tunnel, **self._options(s, known), **extra)
        except asyncssh.KeyImportError as exc:  # a ValueError, not an asyncssh.Error: a malformed key file
            raise SSHConnectError(f"key file {s.key_file} of {s.host} is not a usable private key ({exc}); point "
                                  "key_file at an OpenSSH private key without a passphrase (or use ssh-agent)") from exc
        except (TimeoutError, OSError, asyncssh.Error) as exc:
            raise connect_error(s, exc) from exc
        if first is not None and first.accepted is not None:
            kh.parent.mkdir(parents=True, exist_ok=True)
            with kh.open("a") as fh:
                fh.write(f"{name} {first.accepted.export_public_key('openssh').decode().strip()}\n")
        return conn

    async def connect(self) -> None:
        if self._conn is not None:
            return
        s = self.settings
        tunnel = None
        if s.jump is not None:
            j = s.jump
            jump_settings = SSHSettings(host=j.host, port=j.port, user=j.user, key_file=j.key_file or s.key_file,
                                        use_agent=s.use_agent, known_hosts=s.known_hosts,
                                        host_key_policy=s.host_key_policy, connect_timeout=s.connect_timeout)
            self._jump = tunnel = await self._open(jump_settings, None)
        try:
            self._conn = await self._open(s, tunnel)
        except SSHConnectError:
            if self._jump is not None:
                self._jump.close()
                self._jump = None
            raise

    def server_host_key(self) -> str:
        """The host's public key in OpenSSH format, to pin it for another client (e.g. rsync on a source)."""
        key = self.connection.get_server_host_key()
        if key is None:
            raise SSHError(f"{self.name}: no host key")
        return key.export_public_key("openssh").decode().strip()

    async def run(self, command: str, *, input: bytes | str | None = None, timeout: float | None = None,
                  on_stdout: OutputCallback | None = None) -> CommandResult:
        limit = timeout if timeout is not None else self.settings.command_timeout
        data = input.encode() if isinstance(input, str) else input
        try:
            proc = await self.connection.create_process(command, encoding=None)
        except (asyncssh.Error, OSError) as exc:
            raise SSHError(f"{self.name}: cannot start a command: {exc}") from exc
        out: list[bytes] = []
        err: list[bytes] = []

        async def pump(stream: asyncssh.SSHReader[bytes], sink: list[bytes], cb: OutputCallback | None) -> None:
            while chunk := await stream.read(262144):
                sink.append(chunk)
                if cb is not None:
                    cb(chunk)

        async def feed() -> None:
            if data:
                proc.stdin.write(data)
                await proc.stdin.drain()
            proc.stdin.write_eof()

        try:
            async with asyncio.timeout(limit):
                await asyncio.gather(feed(), pump(proc.stdout, out, on_stdout), pump(proc.stderr, err, None))
                completed = await proc.wait()
        except TimeoutError as exc:
            proc.kill()
            raise SSHCommandError(f"{self.name}: command timed out after {limit:g}s: {command[:120]}") from exc
        except (asyncssh.Error, BrokenPipeError, ConnectionError) as exc:
            raise SSHError(f"{self.name}: connection lost while running a command: {exc}") from exc
        status = completed.exit_status
        if status is None:  # killed by a signal or the channel closed without a status
            status = 255
        return CommandResult(command, status, b"".join(out).decode("utf-8", "replace"),
                             b"".join(err).decode("utf-8", "replace"))

    async def sftp(self) -> asyncssh.SFTPClient:
        """The connection's SFTP client, started once."""
        if self._sftp is None:
            try:
                self._sftp = await self.connection.start_sftp_client()
            except (asyncssh.Error, OSError) as exc:
                raise SSHError(f"{self.name}: cannot start SFTP: {exc}") from exc
        return self._sftp

    async def put_file(self, local_path: str, remote_path: str) -> None:
        sftp = await self.sftp()
        try:
            await sftp.put(local_path, remote_path, block_size=SFTP_BLOCK, preserve=True)
        except (asyncssh.Error, OSError) as exc:
            raise SSHError(f"{self.name}: cannot upload {local_path} to {remote_path}: {exc}") from exc

    async def get_file(self, remote_path: str, local_path: str) -> None:
        sftp = await self.sftp()
        try:
            await sftp.get(remote_path, local_path, block_size=SFTP_BLOCK, preserve=True)
        except (asyncssh.Error, OSError) as exc:
            raise SSHError(f"{self.name}: cannot download {remote_path}: {exc}") from exc

    def abort(self) -> None:
        """Drop the connection at once (used when a run must stop now)."""
        if self._conn is not None:
            self._conn.abort()

    async def close(self) -> None:
        if self._sftp is not None:
            self._sftp.exit()
            self._sftp = None
        for conn in (self._conn, self._jump):
            if conn is not None:
                conn.close()
                await conn.wait_closed()
        self._conn = self._jump = None
