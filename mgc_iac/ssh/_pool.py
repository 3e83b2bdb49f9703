"""A bound on concurrent SSH connections: many servers, at most N connections open at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mgc_iac.ssh._settings import SSHSettings
from mgc_iac.ssh._ssh import SSHConnector


class ConnectionPool:
    """Hands out connected SSHConnectors; the (N+1)th caller waits until one closes."""

    def __init__(self, max_connections: int = 20) -> None:
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self.max_connections = max_connections
        self._slots = asyncio.Semaphore(max_connections)
        self.open_count = 0
        self.peak = 0

    @asynccontextmanager
    async def connection(self, settings: SSHSettings, *, name: str | None = None) -> AsyncIterator[SSHConnector]:
        async with self._slots:
            conn = SSHConnector(settings, name=name)
            self.open_count += 1
            self.peak = max(self.peak, self.open_count)
            try:
                await conn.connect()
                yield conn
            finally:
                self.open_count -= 1
                await conn.close()
