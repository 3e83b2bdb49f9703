"""Typed connection settings, checked when built; they hold the NAME of a password variable, never a secret."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mgc_iac.errors import ConfigError

HostKeyPolicy = Literal["strict", "accept-new"]


@dataclass(frozen=True)
class JumpHost:
    """A bastion used to reach sources on a private network (ssh -J)."""

    host: str
    port: int = 22
    user: str = "root"
    key_file: str | None = None


@dataclass(frozen=True)
class SSHSettings:
    """How to reach one host.

    host_key_policy: "strict" refuses unknown or changed keys; "accept-new" records an unknown key in
    known_hosts (a changed key is still refused).
    """

    host: str
    port: int = 22
    user: str = "root"
    key_file: str | None = None
    password_env: str | None = None
    use_agent: bool = False
    known_hosts: str = "~/.ssh/known_hosts"
    host_key_policy: HostKeyPolicy = "strict"
    connect_timeout: float = 10.0
    command_timeout: float | None = None  # per command; None: no limit (copies may take hours)
    jump: JumpHost | None = None
    encryption_algs: tuple[str, ...] = field(default=("aes128-gcm@openssh.com", "aes256-gcm@openssh.com",
                                                      "chacha20-poly1305@openssh.com", "aes128-ctr"))

    def __post_init__(self) -> None:
        if not self.host:
            raise ConfigError("ssh settings: host is empty")
        if not 0 < self.port < 65536:
            raise ConfigError(f"ssh settings: port {self.port} is outside 1-65535")
        if self.host_key_policy not in ("strict", "accept-new"):
            raise ConfigError("ssh settings: host_key_policy must be strict or accept-new, "
                              f"not {self.host_key_policy!r}")
        if self.connect_timeout <= 0:
            raise ConfigError("ssh settings: connect_timeout must be positive")
        if not (self.key_file or self.password_env or self.use_agent):
            raise ConfigError(f"ssh settings for {self.host}: give key_file, password_env or use_agent")

    @property
    def target(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"

    def key_path(self) -> Path | None:
        return Path(self.key_file).expanduser() if self.key_file else None

    def known_hosts_path(self) -> Path:
        return Path(self.known_hosts).expanduser()

    def password(self) -> str | None:
        """Read the password from the named variable at connect time; a missing variable is a ConfigError."""
        if not self.password_env:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise ConfigError(f"ssh {self.target}: environment variable {self.password_env} is not set")
        return value


@dataclass(frozen=True)
class TargetEndpoint:
    """The target as the SOURCE reaches it (its migration IP and port), and its pinned host key."""

    host: str
    port: int
    host_key: str
    user: str = "root"
