"""HTTP failures become the project's CloudError tree, with what identifies the call and never a secret."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mgc_iac.cloud import Cloud
from mgc_iac.errors import (
    CloudAuthError,
    CloudConflictError,
    CloudError,
    CloudNotFoundError,
    CloudThrottledError,
)
from mgc_iac.lab.testing import RunningLab, lab_task


def _secrets(lab: RunningLab) -> tuple[str, ...]:
    return (lab.endpoint.sk,)


@pytest.mark.parametrize("case", ["other-project", "not-found", "conflict", "bad-body"])
def test_each_status_maps_to_its_error(lab: RunningLab, cloud: Cloud, case: str) -> None:
    expected: tuple[type, int, str]
    if case == "other-project":
        with pytest.raises(CloudError) as info:
            Cloud(replace(lab.settings, project_id="0" * 32)).kms.describe_key("evs/default")
        expected = (CloudAuthError, 403, "APIGW.0302")
    elif case == "not-found":
        with pytest.raises(CloudError) as info:
            cloud.sms.show_task("no-such-task")
        expected = (CloudNotFoundError, 404, "SMS.2252")
    elif case == "conflict":
        _, task, _ = lab_task(cloud)
        with pytest.raises(CloudError) as info:
            cloud.sms.task_action(task, "stop")            # a READY task: SMS.1038 in Huawei's published table
        expected = (CloudConflictError, 400, "SMS.1038")
    else:
        with pytest.raises(CloudError) as info:
            cloud.smn.publish(cloud.smn.list_topics()[0].urn, "x" * 600, "too long a subject")
        expected = (CloudError, 400, "SMN.00010002")
    err = info.value
    assert type(err) is expected[0] and (err.status, err.code) == expected[1:]
    assert err.service and err.operation and err.request_id and len(err.request_id) == 32
    assert err.request_id in str(err)
    for secret in _secrets(lab):
        assert secret not in str(err) and secret not in repr(err)
        assert secret not in str(err.__cause__) and secret not in repr(err.__cause__)


class _Echo:
    """A real HTTP endpoint that answers every request with the request's own headers: as a misconfigured
    gateway or a hostile double does (status 400, JSON with a Huawei error code, or a plain-text body)."""

    def __init__(self, json_body: bool) -> None:
        import http.server
        import json
        import threading

        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                headers = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
                outer.seen = headers
                if json_body:
                    body = json.dumps({"error_code": "APIGW.0101", "error_msg": f"bad request; you sent\n{headers}"})
                    kind = "application/json"
                else:
                    body, kind = f"<html>rejected\n{headers}</html>", "text/html"
                data = body.encode()
                self.send_response(400)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Request-Id", "x" * 10 + "\x1b[2K")
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.seen = ""
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.parametrize("json_body", [True, False])
def test_an_endpoint_echoing_the_request_leaks_no_key_or_token(lab: RunningLab, json_body: bool) -> None:
    echo = _Echo(json_body)
    token = "SeCuRiTyToKeN" + "a1B2" * 40
    settings = replace(lab.settings, endpoints={s: echo.url for s in lab.settings.endpoints}, security_token=token)
    try:
        with pytest.raises(CloudError) as info:
            Cloud(settings).sms.show_task("any")
    finally:
        echo.server.shutdown()
    err = info.value
    assert "X-Security-Token" in echo.seen and settings.ak in echo.seen  # the endpoint did see (and echo) them
    shown = f"{err} {err!r} {err.__cause__!r} {err.__context__!r}"
    for secret in (settings.ak, settings.sk, token, token[:40], "Signature="):
        assert secret not in shown
    assert err.status == 400 and err.request_id is None  # an id with a control character is not quoted
    if json_body:
        assert err.code == "APIGW.0101" and "bad request" in str(err) and "[redacted]" in str(err)
    else:
        assert err.code is None and "not a Huawei error" in str(err) and "<html>" not in str(err)


@pytest.mark.parametrize("text, kept, gone", [
    ("Access=HPUAAKIDEXAMPLE12345, SignedHeaders=host;x-sdk-date, Signature=9f86d081884c7d659a2feaa0c55ad015",
     "Access=", "HPUAAKIDEXAMPLE12345"),
    ('{"password": "hunter2", "name": "web-01"}', "web-01", "hunter2"),
    ("token=abc def", "def", "abc"),
    ("server 3f0a1c2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b is busy", "3f0a1c2e-5b6d-4e7f-8a9b-0c1d2e3f4a5b", "[redacted]"),
])
def test_redaction_keeps_ids_and_hides_secrets(text: str, kept: str, gone: str) -> None:
    from mgc_iac.cloud._redact import redact

    out = redact(text)
    assert kept in out and gone not in out


@pytest.mark.parametrize(("status", "code", "expected"), [
    (403, "SMS.1038", CloudConflictError),       # SMS's v3 pages answer refusals 403: a state, not credentials
    (403, "SMS.2015", CloudConflictError),
    (403, "SMS.6507", CloudError),               # an SMS refusal of another kind: still not "bad credentials"
    (403, "Ecs.0036", CloudError),
    (401, "APIGW.0301", CloudAuthError),         # the gateway's own authentication codes are
    (403, "APIGW.0302", CloudAuthError),
    (403, "IAM.0008", CloudAuthError),
    (400, "SMS.2252", CloudNotFoundError),       # the code decides, whatever the status
    (400, "APIGW.0308", CloudThrottledError),
    (404, "APIGW.0101", CloudNotFoundError),
])
def test_errors_map_by_code_first_and_status_second(status: int, code: str, expected: type) -> None:
    """A unit of the mapping itself: the SDK exception is built here as the SDK builds it from an answer (the
    lab answers SMS refusals with 400, as the older code table; Huawei's v3 pages say 403)."""
    from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, SdkError

    from mgc_iac.cloud._errors import classify, to_cloud_error

    exc = ClientRequestException(status, SdkError("r" * 32, code, f"refused ({code})"))
    err = to_cloud_error(exc, "sms", "update_task_status")
    assert type(err) is expected and (err.status, err.code) == (status, code)
    assert classify(exc) == ("throttled" if expected is CloudThrottledError else "final")
