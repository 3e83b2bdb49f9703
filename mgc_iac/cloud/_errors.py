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
# the API gateway's and IAM's authentication refusals (Huawei API gateway error codes: APIGW.0301 incorrect IAM
# authentication information, APIGW.0303 incorrect app authentication, APIGW.0305 ...): only these are "bad
# credentials"; a 403 that carries a service's own code (SMS.xxxx, Ecs.xxxx) is that service refusing the call
_AUTH_CODES = ("APIGW.0301", "APIGW.0302", "APIGW.0303", "APIGW.0305", "APIGW.0306", "APIGW.0307")
_THROTTLE_CODES = ("APIGW.0308",)
# Huawei's codes for a resource that does not exist, whatever the status they come with
_NOT_FOUND_CODES = ("SMS.2252", "Ecs.0114", "KMS.0207", "VPC.0202", "IAM.0004")


def _kind_of(status: int, code: str) -> str:
    """Map by error_code first, the HTTP status second: SMS's published codes come with 400 in the older table
    and 403 in the v3 pages (mgc-iac reference: huawei-behaviour.md), so the status alone misleads."""
    if code in _STATE_CODES:
        return "conflict"
    if code in _THROTTLE_CODES:
        return "throttled"
    if code in _AUTH_CODES or code.startswith("IAM.") and status in (401, 403):
        return "auth"
    if code in _NOT_FOUND_CODES:
        return "not_found"
    service_code = "." in code and not code.startswith(("APIGW.", "Common.", "SYS."))
    if status in (401, 403):
        return "refused" if service_code else "auth"
    if status == 404:
        return "not_found"
    if status == 409:
        return "conflict"
    if status == 429:
        return "throttled"
    return "unavailable" if status >= 500 else "refused"


def classify(exc: BaseException) -> Kind:
    """throttled (429), unavailable (5xx), lost (no answer: connection or timeout), or final."""
    import requests
    from huaweicloudsdkcore.exceptions import exceptions as sdk

    if isinstance(exc, sdk.ServiceResponseException):
        kind = _kind_of(exc.status_code, str(exc.error_code or ""))
        if kind == "throttled":
            return "throttled"
        return "unavailable" if kind == "unavailable" else "final"
    # the SDK converts some transport errors; a read timeout reaches us as requests' own exception
    lost = (sdk.ConnectionException, sdk.RequestTimeoutException, requests.Timeout, requests.ConnectionError,
            ConnectionError, TimeoutError)
    if isinstance(exc, lost):
        return "lost"
    return "final"


def retry_after(exc: BaseException) -> float | None:
    """Seconds a 429 (or 503) asked us to wait (its Retry-After header: seconds or an HTTP date), if it said."""
    value = getattr(exc, "retry_after", None)
    if value is None:
        return None
    text = str(value).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    import time

    return max(0.0, when.timestamp() - time.time())


def retry_after_handler() -> object:
    """The SDK's exception handler, keeping the Retry-After header on the error it raises (the SDK drops the
    headers of an error answer). Built on first use: the SDK is imported lazily."""
    from huaweicloudsdkcore.exceptions.exception_handler import DefaultExceptionHandler

    class RetryAfterHandler(DefaultExceptionHandler):
        def handle_exception(self, request: object, response: object) -> None:
            try:
                super().handle_exception(request, response)
            except Exception as exc:
                value = (getattr(response, "headers", None) or {}).get("Retry-After")
                if value is not None:
                    exc.retry_after = value  # type: ignore[attr-defined]
                raise

    return RetryAfterHandler()


def to_cloud_error(exc: BaseException, service: str, operation: str) -> CloudError:
    from huaweicloudsdkcore.exceptions import exceptions as sdk

    where = {"service": service, "operation": operation}
    if isinstance(exc, sdk.ServiceResponseException):
        # quoted: the code, the message and the request id, checked and redacted (_redact.py); never the body
        status, code = exc.status_code, safe_code(exc.error_code)
        message = error_message(exc.error_code, exc.error_msg, status)
        info = {**where, "status": status, "code": code, "request_id": safe_request_id(exc.request_id)}
        kind = _kind_of(status, str(code or ""))
        if kind == "auth":
            return CloudAuthError(message or "the cloud refused the credentials", **info)
        if kind == "not_found":
            return CloudNotFoundError(message or "not found", **info)
        if kind == "conflict":
            return CloudConflictError(message or "conflict", **info)
        if kind == "throttled":
            return CloudThrottledError(f"still throttled after retries: {message}", **info)
        if kind == "unavailable":
            return CloudUnavailableError(f"still failing after retries: {message}", **info)
        return CloudError(message or f"HTTP {status}", **info)
    if classify(exc) == "lost":
        return CloudUnavailableError(f"no answer from the endpoint after retries ({type(exc).__name__})", **where)
    return CloudError(f"the call failed: {type(exc).__name__}", **where)
