"""A forward HTTP proxy on loopback for lab tests: the "source proxy" a private network migrates through.

Real HTTP proxying: absolute-form requests (`GET http://127.0.0.1:PORT/path HTTP/1.1`) are forwarded to their
host, CONNECT opens a tunnel; each request is one upstream connection (the proxy asks for `Connection: close`).
Only loopback destinations are served (the lab is loopback only); anything else is answered 403. `requests`
lists what went through (method, host:port, path): no header, no body, so never a signature or a key.

    with forward_proxy() as proxy:
        proxy.port, proxy.requests
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_HOP = ("proxy-connection", "proxy-authorization", "connection", "keep-alive")


@dataclass
class ForwardProxy:
    host: str = "127.0.0.1"
    port: int = 0
    requests: list[tuple[str, str, str]] = field(default_factory=list)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(ConnectionError, OSError, RuntimeError):
        writer.write_eof()


async def _handle(state: ForwardProxy, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        writer.close()
        return
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = (lines[0].split(" ", 2) + ["", ""])[:3]
    if method == "CONNECT":
        host, _, port = target.rpartition(":")
        path = ""
    else:
        url = urlsplit(target)
        host, port, path = url.hostname or "", str(url.port or 80), url.path + (f"?{url.query}" if url.query else "")
    state.requests.append((method, f"{host}:{port}", path))
    if host not in ("127.0.0.1", "localhost") or not port.isdigit():
        writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    try:
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
    except OSError:
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()
        return
    if method == "CONNECT":
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
    else:
        kept = [ln for ln in lines[1:] if ln and ln.split(":", 1)[0].strip().lower() not in _HOP]
        up_writer.write("\r\n".join([f"{method} {path or '/'} {version}", *kept, "Connection: close", "", ""])
                        .encode("latin-1"))
    # the upstream's answer ends the exchange (it was asked for Connection: close): then both sides close
    pipes = [asyncio.ensure_future(_pipe(reader, up_writer)), asyncio.ensure_future(_pipe(up_reader, writer))]
    await asyncio.wait(pipes[1:] if method != "CONNECT" else pipes, return_when=asyncio.FIRST_COMPLETED)
    for task in pipes:
        task.cancel()
    for w in (up_writer, writer):
        with contextlib.suppress(ConnectionError, OSError):
            w.close()


@contextlib.contextmanager
def forward_proxy() -> Iterator[ForwardProxy]:
    """Serve a proxy from a thread on a free loopback port until the block ends."""
    state = ForwardProxy()
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(lambda r, w: _handle(state, r, w), "127.0.0.1", 0))
    state.port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()
