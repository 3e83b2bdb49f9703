"""SDK exceptions -> the project's CloudError tree, and which failures are worth a retry.

The SDK's own messages can quote the request; ours are built only from status, error code, error message
and request id, each checked and redacted (_redact.py), so no credential can leak into str() or repr().
"""

from __future__ import annotations

from typing import Literal

from mgc_iac.cloud._redact import error_message, safe_code, safe_request_id
from mgc_iac.errors import (
    CloudAuthError,
    CloudConflictError,
    CloudError,
    CloudNotFoundError,
    CloudThrottledError,
    CloudUnavailableError,
)

Kind = Literal["throttled", "unavailable", "lost", "final"]
# refusals because of a state: SMS.1038 pause, SMS.1039 resume, SMS.1040 restart, SMS.2015 delete (Huawei's
# published SMS error codes, support.huaweicloud.com/en-us/api-sms/sms_api_0047.html); ECS Ecs.0103, Ecs.0213
_STATE_CODES = ("SMS.1038", "SMS.1039", "SMS.1040", "SMS.2015", "Ecs.0103", "Ecs.0213")


def classify(exc: BaseException) -> Kind:
    """throttled (429), unavailable (5xx), lost (no answer: connection or timeout), or final."""
    import requests
    from huaweicloudsdkcore.exceptions import exceptions as sdk

    if isinstance(exc, sdk.ServiceResponseException):
        if exc.status_code == 429:
            return "throttled"
        return "unavailable" if exc.status_code >= 500 else "final"
    # the SDK converts some transport errors; a read timeout reaches us as requests' own exception
    lost = (sdk.ConnectionException, sdk.RequestTimeoutException, requests.Timeout, requests.ConnectionError,
            ConnectionError, TimeoutError)
    if isinstance(exc, lost):
        return "lost"
    return "final"


def to_cloud_error(exc: BaseException, service: str, operation: str) -> CloudError:
    from huaweicloudsdkcore.exceptions import exceptions as sdk

    where = {"service": service, "operation": operation}
    if isinstance(exc, sdk.ServiceResponseException):
        # quoted: the code, the message and the request id, checked and redacted (_redact.py); never the body
        status, code = exc.status_code, safe_code(exc.error_code)
        message = error_message(exc.error_code, exc.error_msg, status)
        info = {**where, "status": status, "code": code, "request_id": safe_request_id(exc.request_id)}
        if status in (401, 403):
            return CloudAuthError(message or "the cloud refused the credentials", **info)
        if status == 404:
            return CloudNotFoundError(message or "not found", **info)
        if status == 409 or code in _STATE_CODES:
            return CloudConflictError(message or "conflict", **info)
        if status == 429:
            return CloudThrottledError(f"still throttled after retries: {message}", **info)
        if status >= 500:
            return CloudUnavailableError(f"still failing after retries: {message}", **info)
        return CloudError(message or f"HTTP {status}", **info)
    if classify(exc) == "lost":
        return CloudUnavailableError(f"no answer from the endpoint after retries ({type(exc).__name__})", **where)
    return CloudError(f"the call failed: {type(exc).__name__}", **where)
