"""Measure what prechecks judge but facts cannot tell: is a TCP port reachable from here."""

from __future__ import annotations

import asyncio


async def port_reachable(host: str, port: int, *, timeout: float = 5.0) -> bool:
    """True when a TCP connection to host:port opens within `timeout` (the migration port precheck)."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError):
        return False
    writer.close()
    await writer.wait_closed()
    return True
