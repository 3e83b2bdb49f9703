"""The automated checks as they run (engine/runners/checks.py), against a real HTTP service on loopback: the
answer's status is compared as given (a redirect is not followed), its body's tail is kept, an unreachable
service or a missing SSH login fails the check with what happened."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from mgc_iac.engine.runners.checks import run_checks
from tests.conftest import http_service


@pytest.fixture
def service() -> Iterator[str]:
    """/moved answers 302 to /login, /login 200 (a login page), anything else 404 with a long body."""

    def answer(path: str) -> tuple[int, bytes, dict[str, str]]:
        if path == "/moved":
            return 302, b"", {"Location": "/login"}
        return (200, b"please log in", {}) if path == "/login" else (404, b"x" * 5000, {})

    with http_service(answer) as url:
        yield url


def test_a_redirect_is_the_answer_not_the_page_behind_it(service: str) -> None:
    results = run_checks([{"name": "health", "http": f"{service}/moved"},
                          {"name": "to-https", "http": f"{service}/moved", "expect_status": 302}], None, None, "web")
    assert [(r["name"], r["passed"], r["detail"]) for r in results] == [
        ("health", False, "HTTP 302, expected 200"), ("to-https", True, "HTTP 302")]
    assert all(r["on"] == "controller" for r in results)


def test_ip_placeholder_body_tail_and_failures_say_what_happened(service: str) -> None:
    port = service.rsplit(":", 1)[1]
    [found] = run_checks([{"name": "login", "http": "http://{ip}:" + port + "/login"}], None, "127.0.0.1", "web")
    assert found["passed"] and found["output"] == "please log in"
    [missing] = run_checks([{"name": "api", "http": f"{service}/api"}], None, None, "web")
    assert missing["detail"] == "HTTP 404, expected 200" and missing["output"] == "..." + "x" * 2000
    with socket.socket() as s:                       # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    [refused] = run_checks([{"name": "down", "http": f"http://127.0.0.1:{closed}/"}], None, None, "web")
    assert not refused["passed"] and refused["detail"].startswith(f"GET http://127.0.0.1:{closed}/: ")
    [no_login] = run_checks([{"name": "svc", "command": "true"}], None, None, "web-01-hw")
    assert not no_login["passed"] and no_login["detail"] == "no SSH access to web-01-hw"
