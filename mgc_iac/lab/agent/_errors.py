"""Errors of the data path, under SSHCommandError: they come from commands run on the hosts."""

from __future__ import annotations

from mgc_iac.errors import SSHCommandError


class ReplicationError(SSHCommandError):
    """Replication or synchronization failed; nothing of this run is reported as done."""


class ReplicationInterrupted(ReplicationError):
    """The connection dropped mid-run; running the same replication again resumes it."""


class TargetFullError(ReplicationError):
    """The target ran out of disk space."""
