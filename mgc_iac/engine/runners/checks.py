"""Automated validation (a workflow's `validation.checks`): run before TestValidation and BusinessValidation, so
the approver sees evidence. A command check runs over SSH on the launched test instance (or the target) and
passes on exit status 0; an HTTP check is a GET from the controller that passes on the expected status. Every
result keeps what was seen (the output's tail, the status), never a secret the stack did not print itself.

Synchronous (the engine's worker threads); each SSH exchange runs in its own short asyncio loop.
"""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from mgc_iac.errors import MgcIacError

OUTPUT_KEPT = 2000  # characters of a check's output kept in the record (its tail: where errors are)


def _tail(text: str) -> str:
    text = text.strip()
    return text if len(text) <= OUTPUT_KEPT else "..." + text[-OUTPUT_KEPT:]


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_checks(checks: list[dict[str, Any]], host: Any, ip: str | None, where: str) -> list[dict[str, Any]]:
    """Each check's result: {name, kind, passed, detail, output, on, at, seconds}. `host`: the SSH settings
    of the instance (None: command checks fail, saying why); `ip`: what `{ip}` in an HTTP check's URL means."""
    results = []
    for check in checks:
        began = time.monotonic()
        result = _command(check, host, where) if check.get("command") else _http(check, ip)
        results.append({"name": check["name"], "on": where if check.get("command") else "controller",
                        **result, "at": _stamp(), "seconds": round(time.monotonic() - began, 2)})
    return results


def _command(check: dict[str, Any], host: Any, where: str) -> dict[str, Any]:
    if host is None:
        return {"kind": "command", "passed": False, "detail": f"no SSH access to {where}", "output": ""}
    try:
        status, output = asyncio.run(_ssh(host, check["command"], float(check.get("timeout_seconds") or 60)))
    except MgcIacError as exc:  # unreachable, refused, timed out: the check fails with what happened
        return {"kind": "command", "passed": False, "detail": str(exc), "output": ""}
    return {"kind": "command", "passed": status == 0, "detail": f"exit {status}", "output": _tail(output)}


async def _ssh(settings: Any, command: str, timeout: float) -> tuple[int, str]:
    from mgc_iac.ssh import SSHConnector

    async with SSHConnector(settings) as conn:
        result = await conn.run(command, timeout=timeout)
    return result.exit_status, result.stdout + (("\n" + result.stderr) if result.stderr.strip() else "")


class _Unfollowed(urllib.request.HTTPRedirectHandler):
    """A redirect is the answer (as curl and load-balancer health checks see it): `expect_status: 301` can be
    checked, and a 302 to a login page does not pass for the 200 of the page behind it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_Unfollowed)


def _http(check: dict[str, Any], ip: str | None) -> dict[str, Any]:
    url = str(check["http"]).replace("{ip}", ip or "")
    expected = int(check.get("expect_status") or 200)
    request = urllib.request.Request(url, headers={"User-Agent": "mgc-iac-check"})
    try:
        with _OPENER.open(request, timeout=float(check.get("timeout_seconds") or 30)) as answer:
            status, body = answer.status, answer.read(OUTPUT_KEPT + 1).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:  # a 4xx/5xx answer is an answer: compared like any status
        status, body = exc.code, exc.read(OUTPUT_KEPT + 1).decode("utf-8", "replace")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return {"kind": "http", "passed": False, "detail": f"GET {url}: {getattr(exc, 'reason', exc)}",
                "output": ""}
    detail = f"HTTP {status}" + ("" if status == expected else f", expected {expected}")
    return {"kind": "http", "passed": status == expected, "detail": detail, "output": _tail(body)}
